#!/usr/bin/env python3
"""A local webhook receiver for trying Hookshot, standard library only.

  python3 examples/receiver.py --port 9000 --signing-secret whsec_...

POST any path: prints the X-Scrapfly-* headers, checks the HMAC-SHA256
signature (hex, uppercase) over the decompressed body with the webhook's
signing secret, answers 200 when it is valid and 401 when it is not.
GET any path: serves a small HTML page, handy as a scrape target.
"""
import argparse
import gzip
import hashlib
import hmac
import json
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = b"<html><head><title>Receiver page</title></head><body><h1>Hello, Hookshot</h1></body></html>"


def decode(body, encoding):
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding in ("", "identity", None):
        return body
    raise ValueError(f"this receiver cannot decode {encoding!r}")


class Handler(BaseHTTPRequestHandler):
    signing_secret = ""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = decode(raw, self.headers.get("Content-Encoding"))
        print(f"\nPOST {self.path}")
        for name, value in self.headers.items():
            if name.lower().startswith("x-scrapfly") or name.lower() in ("content-type", "content-encoding", "user-agent"):
                print(f"  {name}: {value}")
        expected = hmac.new(self.signing_secret.encode(), body, hashlib.sha256).hexdigest().upper()
        valid = hmac.compare_digest(expected, self.headers.get("X-Scrapfly-Webhook-Signature", ""))
        print(f"  signature: {'VALID' if valid else 'INVALID'}")
        if self.headers.get("Content-Type", "").startswith("application/json"):
            doc = json.loads(body)
            print(f"  context.webhook: {doc['context'].get('webhook')}")
            print(f"  result.status_code: {doc['result']['status_code']}, content: {str(doc['result']['content'])[:80]!r}")
        self.send_response(200 if valid else 401)
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--signing-secret", required=True)
    a = p.parse_args()
    Handler.signing_secret = a.signing_secret
    print(f"receiver on http://127.0.0.1:{a.port}")
    ThreadingHTTPServer(("127.0.0.1", a.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
