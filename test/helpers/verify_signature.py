#!/usr/bin/env python3
"""Independent check of a Scrapfly webhook signature, as a receiver would do it.

usage: verify_signature.py <signing_secret> <body_file> <X-Scrapfly-Webhook-Signature>
Exit 0 and print "valid" when the signature matches, exit 1 otherwise.
"""
import hashlib
import hmac
import sys

secret, body_file, received = sys.argv[1], sys.argv[2], sys.argv[3]
with open(body_file, "rb") as f:
    body = f.read()
expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest().upper()
if hmac.compare_digest(expected, received):
    print("valid")
    sys.exit(0)
print(f"invalid: expected {expected}, got {received}")
sys.exit(1)
