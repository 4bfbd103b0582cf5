"""A real HTTP server on loopback that serves feeds the way news sites do (ETag, 304, redirects)."""
from __future__ import annotations

import gzip
import hashlib
import sys
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: bool = True
    delay: float = 0.0
    gzip: bool = False


class FeedServer:
    """Routes are set by path; every request is recorded as (path, headers, status sent)."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str], int]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                route = server.routes.get(self.path)
                status, headers, body = server._answer(route, self.headers)
                with server._lock:
                    server.requests.append((self.path, dict(self.headers), status))
                if route and route.delay:
                    time.sleep(route.delay)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        base_error = self.httpd.handle_error

        def handle_error(request, client_address):
            # A slow route finishes writing after the client gave up; that is the point, not an error.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                base_error(request, client_address)

        self.httpd.handle_error = handle_error

    def _answer(self, route: Route | None, request_headers) -> tuple[int, dict[str, str], bytes]:
        if route is None:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        headers = dict(route.headers)
        if route.status != 200:
            return route.status, headers, route.body
        headers["Content-Type"] = route.content_type
        if route.etag:
            tag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
            headers["ETag"] = tag
            headers["Last-Modified"] = formatdate(1_600_000_000, usegmt=True)
            if request_headers.get("If-None-Match") == tag:
                return 304, {"ETag": tag}, b""
        body = route.body
        if route.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return 200, headers, body

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def hits(self, path: str) -> list[int]:
        with self._lock:
            return [status for p, _, status in self.requests if p == path]

    def start(self, poll_interval: float = 0.02) -> "FeedServer":
        # A short shutdown poll makes stop() return at once instead of after serve_forever's 0.5 s.
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(poll_interval,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
