"""A zero-cost HTTP server for client floors: it answers, from memory, exactly the bodies a
real server gave to the same requests, so a client's time against it is the client's own
share (requests, parsing, writing) with the server's work taken out."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx

_FETCH = re.compile(r"HTTP: Fetch\((?P<url>[^)]+)\)")
_ACCEPT = re.compile(r"Accept: (?P<accept>[^\r\n]+)")


def gdal_requests(args: list[str]) -> list[tuple[str, str]]:
    """The (URL, Accept header) of every request a GDAL command makes, in order (read from
    its ``--debug ON`` output)."""
    err = subprocess.run(
        [args[0], "--debug", "ON", *args[1:]], capture_output=True, text=True, check=True
    ).stderr
    found: list[tuple[str, str]] = []
    for line in err.splitlines():
        fetch = _FETCH.search(line)
        if fetch:
            found.append((fetch.group("url"), "application/json"))
            continue
        accept = _ACCEPT.search(line)
        if accept and found:
            found[-1] = (found[-1][0], accept.group("accept"))
    return found


def record(requests: list[tuple[str, str]], base: str) -> dict[str, tuple[str, bytes]]:
    """Path and query -> (media type, body) as the server at ``base`` answers each request,
    with ``base`` in the bodies left for ``replay`` to point at itself."""
    answers: dict[str, tuple[str, bytes]] = {}
    with httpx.Client(timeout=300) as client:
        for url, accept in requests:
            parts = urlsplit(url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target in answers:
                continue
            response = client.get(url, headers={"Accept": accept})
            response.raise_for_status()
            kind = response.headers.get("content-type", "application/json")
            answers[target] = (kind, response.content)
    return answers


@contextmanager
def replay(answers: dict[str, tuple[str, bytes]], recorded_base: str) -> Iterator[str]:
    """Serve ``answers`` on a free local port (HTTP/1.1, keep-alive); yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    bodies = {
        target: (kind, body.replace(recorded_base.encode(), base.encode()))
        for target, (kind, body) in answers.items()
    }

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body leave in two writes: without this, Nagle's algorithm and the
            # client's delayed ACK hold every small answer back 40 ms
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            kind, body = bodies.get(self.path, ("text/plain", b""))
            self.send_response(200 if self.path in bodies else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
