"""The edge: what every request must be before any router sees it (issue 13).

One ASGI middleware, outermost of the app's own (outside the POS lane), refuses in the error
envelope, before the request is routed or its body parsed:

- a request target (path and query) longer than :data:`MAX_URL` bytes: 414 ``uri_too_long``;
- headers longer than :data:`MAX_HEADERS` bytes in all: 431 ``headers_too_large``;
- a body longer than the route's limit (:data:`MAX_POS_BODY` for ``/v1/pos/``,
  :data:`MAX_BODY` otherwise): 413 ``body_too_large``, from ``Content-Length`` alone when it
  is sent, else as soon as the body read so far passes the limit;
- a control character (NUL and the other C0 characters but tab, line feed and carriage return
  in text, and DEL; any of them in the path) in the path, the query, a JSON body (raw or as a
  ``\\u00XX`` escape) or a form: 422 ``invalid_character``. PostgreSQL cannot store NUL in text,
  so such a value used to fail deep inside an action (a 500, or an action done without its
  audit row); no text input needs the others.

The body is read once here and handed on whole, so nothing below reads it twice from the
network; the lane's own read is then one message.

What remains the HTTP server's: uvicorn (httptools) parses the request line and headers before
any application code runs. A request it cannot parse, including a target over 65,535 bytes
(httptools' URL parser keeps lengths in 16 bits), is answered by the server;
:class:`EnvelopeHttpToolsProtocol`, which ``scrip up`` runs uvicorn with, gives those answers
the same envelope (414 ``uri_too_long`` or 400 ``malformed_request``).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from scrip.api.errors import envelope

MAX_URL = 8 * 1024
MAX_HEADERS = 32 * 1024
MAX_POS_BODY = 512 * 1024  # a receipt of 1,000 lines is about 200 KB
MAX_BODY = 4 * 1024 * 1024  # a bulk operation of 100,000 codes is about 2.5 MB
POS_PREFIX = "/v1/pos/"

_IN_PATH = re.compile(r"[\x00-\x1f\x7f]")
_IN_TEXT = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A JSON escape of such a character, not itself escaped (``\\u0000`` is a backslash and text).
_ESCAPED = re.compile(rb"(?<!\\)(?:\\\\)*\\u00(?:0[0-8bcef]|1[0-9a-f]|7f)", re.IGNORECASE)
_JSON_KINDS = (b"", b"application/json")


def _refusal(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    headers = {"Connection": "close"} if status in (413, 414, 431) else None
    return JSONResponse(envelope(code, message, details), status_code=status, headers=headers)


def _head_refusal(scope: Scope) -> JSONResponse | None:
    target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope["query_string"])
    if target > MAX_URL:
        return _refusal(414, "uri_too_long", f"the URL is longer than {MAX_URL} bytes")
    if sum(len(name) + len(value) for name, value in scope["headers"]) > MAX_HEADERS:
        return _refusal(431, "headers_too_large", f"the headers pass {MAX_HEADERS} bytes")
    if _IN_PATH.search(scope["path"]):
        return _invalid("path")
    if _IN_TEXT.search(unquote_to_bytes(scope["query_string"])):
        return _invalid("query")
    return None


def _invalid(where: str) -> JSONResponse:
    return _refusal(
        422,
        "invalid_character",
        f"the {where} holds a control character (such as NUL), which no field accepts",
        where=where,
    )


def _body_refusal(body: bytes, content_type: bytes) -> JSONResponse | None:
    kind = content_type.split(b";", 1)[0].strip().lower()
    if kind in _JSON_KINDS or kind.endswith(b"+json"):
        # ``\u`` first: a find is ~50 times cheaper than the pattern, and most bodies have none.
        bad = b"\x00" in body or (b"\\u" in body and _ESCAPED.search(body) is not None)
    elif kind == b"application/x-www-form-urlencoded":
        bad = _IN_TEXT.search(unquote_to_bytes(body.replace(b"+", b" "))) is not None
    else:
        bad = b"\x00" in body
    return _invalid("body") if bad else None


def _too_large(limit: int) -> JSONResponse:
    return _refusal(413, "body_too_large", f"the body is longer than {limit} bytes", limit=limit)


class Edge:
    """ASGI middleware: the checks of the module docstring, then the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = _head_refusal(scope)
        if refused is not None:
            await refused(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is None and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body
            return
        limit = MAX_POS_BODY if scope["path"].startswith(POS_PREFIX) else MAX_BODY
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        body = await read_body(receive, limit)
        refused = _too_large(limit) if body is None else None
        if body is not None:
            refused = _body_refusal(body, headers.get(b"content-type", b""))
        if refused is not None:
            await refused(scope, receive, send)
            return
        assert body is not None
        await self.app(scope, replay_body(body, receive), send)


async def read_body(receive: Receive, limit: int | None = None) -> bytes | None:
    """The whole body, or None once it passes ``limit`` (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands ``body`` (already read) to the app, then the rest of the
    connection's messages."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering what it cannot parse in scrip's envelope."""

    def send_400_response(self, msg: str) -> None:
        too_long = len(getattr(self, "url", b"")) > MAX_URL
        status, code = (414, "uri_too_long") if too_long else (400, "malformed_request")
        content = json.dumps(envelope(code, msg)).encode()
        reason = b"URI Too Long" if too_long else b"Bad Request"
        head = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(content)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                content,
            ]
        )
        self.transport.write(b"".join(head))
        self.transport.close()
