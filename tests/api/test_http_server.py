"""Over-long and unparsable requests through a real uvicorn (issue 13): what uvicorn refuses
before the application sees the request is answered in the error envelope too, by the protocol
``scrip up`` runs it with (``api.edge.EnvelopeHttpToolsProtocol``); what reaches the
application is refused by the edge below uvicorn's own limits. Raw sockets, so the client
library cannot refuse the request first."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from scrip.api.edge import EnvelopeHttpToolsProtocol
from scrip.server import create_app
from tests.reliability.conftest import free_port


def _serve(engine: Engine, protocol: type[Any]) -> Iterator[int]:
    port = free_port()
    config = uvicorn.Config(
        create_app(engine=engine), host="127.0.0.1", port=port, http=protocol, log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(500):  # bounded: up to 5 s for the socket to listen
            if server.started:
                break
            threading.Event().wait(0.01)
        assert server.started, "uvicorn did not start"
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def port(engine: Engine) -> Iterator[int]:
    yield from _serve(engine, EnvelopeHttpToolsProtocol)


@pytest.fixture(scope="module")
def plain_port(engine: Engine) -> Iterator[int]:
    yield from _serve(engine, HttpToolsProtocol)


def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65_536):
            received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            headers = {
                k.strip().lower().decode(): v.strip().decode()
                for k, _, v in (line.partition(b":") for line in lines[1:])
            }
            if b"\r\n\r\n" in received and len(body) >= int(headers.get("content-length", 0)):
                return int(lines[0].split()[1]), headers, body
    raise AssertionError(f"no whole answer: {received[:200]!r}")


def _get(path: bytes, extra: bytes = b"") -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"Connection: close\r\n\r\n"


def _envelope(body: bytes) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(body)["error"]
    assert set(found) == {"code", "message", "details"}
    return found


def test_a_url_uvicorn_cannot_parse_is_answered_in_the_envelope(port: int) -> None:
    status, headers, body = _raw(port, _get(b"/v1/pos/vouchers/" + b"A" * 100_000))
    assert status == 414 and headers["content-type"] == "application/json"
    assert _envelope(body)["code"] == "uri_too_long"


def test_without_the_protocol_uvicorn_answers_in_plain_text(plain_port: int) -> None:
    """The control: the reason the protocol exists."""
    status, headers, _ = _raw(plain_port, _get(b"/v1/pos/vouchers/" + b"A" * 100_000))
    assert status == 400 and headers["content-type"].startswith("text/plain")


def test_a_long_url_and_long_headers_reach_the_edge(port: int) -> None:
    status, _, body = _raw(port, _get(b"/v1/pos/vouchers/" + b"A" * 20_000))
    assert (status, _envelope(body)["code"]) == (414, "uri_too_long")
    status, _, body = _raw(port, _get(b"/healthz", b"X-Big: " + b"z" * 40_000 + b"\r\n"))
    assert (status, _envelope(body)["code"]) == (431, "headers_too_large")


def test_a_request_uvicorn_cannot_parse_at_all(port: int) -> None:
    status, headers, body = _raw(port, b"NOT HTTP AT ALL\r\n\r\n")
    assert status == 400 and headers["content-type"] == "application/json"
    assert _envelope(body)["code"] == "malformed_request"
