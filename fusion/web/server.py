"""The web demo's HTTP server: the static page and a small JSON API, on the standard library.

Why ``http.server`` and not FastAPI + uvicorn: this is a local, single-user demo, and the standard
library's ``ThreadingHTTPServer`` serves it with no extra dependency (FastAPI would add fastapi,
starlette, pydantic, uvicorn and python-multipart to every install). FastAPI's real advantage here
would be multipart form parsing, which the demo avoids: the page (and ``curl``) sends the audio file
itself as the request body, with its name and an optional transcript in the query string::

    curl --data-binary @clip.wav 'http://127.0.0.1:8000/api/predict?name=clip.wav'

Routes:

* ``GET /`` -> the page (``static/index.html`` + ``app.js`` + ``recorder.js`` + ``style.css``; no CDN, works
  offline)
* ``GET /api/info`` -> ``{"model", "mode", "labels", "transcriber", "needs_transcript", ...}``
* ``POST /api/predict?name=NAME[&transcript=TEXT]`` with the audio bytes as the body ->
  ``200 {"model", "mode", "labels", "prediction": {...}}`` (the prediction as in ``fusion predict
  --json``, with ``segments`` for long audio) or ``4xx/5xx {"error": "..."}``.
"""

from __future__ import annotations

import json
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from .demo import Demo

STATIC = {  # the only files served, with their content types
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "recorder.js": "text/javascript; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def static_file(name: str) -> bytes:
    return resources.files("fusion.web").joinpath("static", name).read_bytes()


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung client never keeps the process alive

    def __init__(self, address: tuple[str, int], demo: Demo, quiet: bool = False):
        super().__init__(address, DemoHandler)
        self.demo = demo
        self.quiet = quiet

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


class DemoHandler(BaseHTTPRequestHandler):
    server: DemoServer
    server_version = "fusion-demo/1"

    # ------------------------------------------------------------------ responses
    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in SECURITY_HEADERS.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, doc: dict) -> None:
        self._send(status, json.dumps(doc, ensure_ascii=False).encode(), "application/json; charset=utf-8")

    def _not_found(self) -> None:
        self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {self.path}"})

    # ------------------------------------------------------------------ routes
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, static_file("index.html"), STATIC["index.html"])
        elif path.startswith("/static/") and path.removeprefix("/static/") in STATIC:
            name = path.removeprefix("/static/")
            self._send(HTTPStatus.OK, static_file(name), STATIC[name])
        elif path == "/api/info":
            self._json(HTTPStatus.OK, self.server.demo.info())
        elif path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        else:
            self._not_found()

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        if url.path != "/api/predict":
            self._not_found()
            return
        demo = self.server.demo
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._json(HTTPStatus.LENGTH_REQUIRED, {"error": "send the audio file as the request body, "
                                                             "with a Content-Length header"})
            return
        if int(length) > demo.max_bytes:
            self.close_connection = True  # do not read (or wait for) a body that is refused anyway
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                       {"error": f"{int(length) / 1e6:.1f} MB is more than the {demo.config.max_upload_mb:g} MB "
                                 "this demo accepts"})
            return
        data = self.rfile.read(int(length))
        query = parse_qs(url.query)
        reply = demo.predict(data, query.get("name", [None])[0], query.get("transcript", [None])[0])
        self._json(reply.status, reply.body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's signature
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")
