"""A small TCP fault proxy for HTTP/1.1 on loopback: one request per client connection.

Each accepted connection takes the next fault from the plan (``pass`` when the plan is empty), or
is swallowed while a black hole is open. The proxy reads the client's whole request first, then:

- ``pass``: forwards it, reads the whole answer, hands it back.
- ``drop_request``: resets the client connection; the server never sees the request.
- ``drop_answer``: forwards it, reads the whole answer (the server has committed), then resets
  the client connection without sending a byte of it.
- ``delay``: holds the request until ``release`` is set (the client times out meanwhile), then
  forwards it and reads the answer; the client is gone, so nobody gets it.
- black hole: holds the request, never forwards it, and resets the connection when the hole
  closes.

Every connection leaves a ``Record`` with what the server answered (if it was asked), so a test
can see what happened behind the client's back.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field

WAIT_S = 30.0
MODES = ("pass", "drop_request", "drop_answer", "delay")


@dataclass
class Fault:
    mode: str
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        assert self.mode in MODES, self.mode


@dataclass
class Record:
    mode: str
    request_line: str = ""
    upstream_status: int | None = None
    upstream_body: bytes = b""
    done: threading.Event = field(default_factory=threading.Event)


def read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    """One HTTP/1.1 message (head, body), framed by Content-Length; b"" head when closed."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return b"", b""
        buffer += chunk
    head, _, body = buffer.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        assert name.strip().lower() != b"transfer-encoding", "chunked bodies are not supported"
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n", body


def reset(sock: socket.socket) -> None:
    """Close abortively (RST), as a dropped connection looks to the peer."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._plan: deque[Fault] = deque()
        self._hole_until = 0.0
        self._hole_closed = threading.Event()
        self._closing = threading.Event()
        self.records: list[Record] = []
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    # -- control -----------------------------------------------------------------------------

    def plan(self, *faults: Fault) -> None:
        """The next connections get these faults, in order; afterwards ``pass``."""
        with self._lock:
            self._plan.extend(faults)

    def black_hole(self, seconds: float) -> None:
        """Swallow every connection that arrives in the next ``seconds``."""
        with self._lock:
            self._hole_until = time.monotonic() + seconds
            self._hole_closed = threading.Event()

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            for fault in self._plan:
                fault.release.set()
            self._hole_closed.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
        self._listener.close()
        self._acceptor.join(timeout=WAIT_S)
        for thread in self._threads:
            thread.join(timeout=WAIT_S)
        assert not any(t.is_alive() for t in [self._acceptor, *self._threads]), "proxy stuck"

    # -- the connections ---------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if time.monotonic() < self._hole_until:
                    fault, hole = None, (self._hole_until, self._hole_closed)
                else:
                    fault, hole = (self._plan.popleft() if self._plan else Fault("pass")), None
                record = Record(mode="black_hole" if fault is None else fault.mode)
                self.records.append(record)
            thread = threading.Thread(
                target=self._handle, args=(client, fault, hole, record), daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _handle(
        self,
        client: socket.socket,
        fault: Fault | None,
        hole: tuple[float, threading.Event] | None,
        record: Record,
    ) -> None:
        try:
            client.settimeout(WAIT_S)
            head, body = read_message(client)
            record.request_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
            if not head:
                client.close()
                return
            if fault is None:
                assert hole is not None
                until, closed = hole
                closed.wait(timeout=max(0.0, until - time.monotonic()))  # the hole is open
                reset(client)
                return
            if fault.mode == "drop_request":
                reset(client)
                return
            if fault.mode == "delay":
                fault.release.wait(timeout=WAIT_S)
            answer = self._forward(head + body, record)
            if fault.mode == "drop_answer":
                reset(client)
                return
            with contextlib.suppress(OSError):  # the client gave up: the answer is lost
                client.sendall(answer)
            client.close()
        except OSError:
            client.close()
        finally:
            record.done.set()

    def _forward(self, request: bytes, record: Record) -> bytes:
        with socket.create_connection(self.upstream, timeout=WAIT_S) as upstream:
            upstream.sendall(request)
            head, body = read_message(upstream)
        assert head, "the server closed without an answer"
        record.upstream_status = int(head.split(b" ", 2)[1])
        record.upstream_body = body
        return head + body
