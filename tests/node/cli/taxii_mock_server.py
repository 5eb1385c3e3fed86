#!/usr/bin/env python3
"""A TAXII 2.1 server that misbehaves, for the tests of 'threatmesh taxii pull'.

Usage: taxii_mock_server.py MODE  -- prints the port it listens on (127.0.0.1), then serves
until killed. MODE: badjson (a page cut short), error500 (an error message with HTTP 500),
loop (a 'next' that repeats), huge (more objects than the limit asked).
"""
import http.server
import json
import sys

MODE = sys.argv[1]
INDICATOR = {
    "type": "indicator", "spec_version": "2.1",
    "id": "indicator--5e1f0000-0000-4000-8000-000000000001",
    "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
    "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00.000Z",
    "pattern": "[domain-name:value = 'mock.example']",
}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code, body = 200, b""
        if MODE == "badjson":
            body = b'{"more": false, "objects": [{"type": '
        elif MODE == "error500":
            code = 500
            body = json.dumps({"title": "Internal Server Error",
                               "description": "database down", "http_status": "500"}).encode()
        elif MODE == "loop":
            body = json.dumps({"more": True, "next": "same", "objects": [INDICATOR]}).encode()
        elif MODE == "huge":
            body = json.dumps({"more": False, "objects": [INDICATOR] * 100}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/taxii+json;version=2.1")
        self.send_header("X-TAXII-Date-Added-Last", "2026-12-01T00:00:00.000Z")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
