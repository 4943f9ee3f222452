#!/usr/bin/env python3
"""Independent check of a Firecrawl-style webhook signature, as a receiver would do it.

usage: verify_firecrawl.py <secret> <X-Firecrawl-Signature value> [<body_file> | -]
The body is read from the file, or from stdin when the file is "-" or absent.
The header must be "sha256=" and the lowercase hex HMAC-SHA256 of the exact
body bytes, keyed with the secret as UTF-8. Prints VALID (exit 0) or INVALID
(exit 1, the reason on stderr); exit 2 on a usage error.
"""
import hashlib
import hmac
import os
import re
import sys

if len(sys.argv) not in (3, 4):
    sys.stderr.write(__doc__)
    sys.exit(2)
secret, header = sys.argv[1], sys.argv[2]
body_file = sys.argv[3] if len(sys.argv) == 4 else "-"
if body_file == "-":
    body = sys.stdin.buffer.read()
else:
    with open(body_file, "rb") as f:
        body = f.read()

# The argument's own bytes (UTF-8 as Node passes it), whatever the locale
# would decode them to.
key = os.fsencode(secret)
expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
# Checked apart from the comparison so a wrong shape (upper-case hex, no
# prefix, whitespace) is reported as such rather than as a wrong digest.
if not re.fullmatch(r"sha256=[0-9a-f]{64}", header):
    print("INVALID")
    sys.stderr.write(f"malformed header {header!r}: want sha256=<64 lowercase hex digits>\n")
    sys.exit(1)
if hmac.compare_digest(expected, header):
    print("VALID")
    sys.exit(0)
print("INVALID")
sys.stderr.write(f"digest mismatch over {len(body)} body bytes: expected {expected}, got {header}\n")
sys.exit(1)
