"""S6: an open-loop client at a fixed arrival rate, latency measured from the intended send time.

wrk2 (constant-rate wrk) is not packaged for Debian, and plain wrk is closed-loop: a slow answer
delays the next request and hides the wait (coordinated omission). This client schedules
request *i* at ``start + i / rate`` whatever happened before, sends it on a free keep-alive
connection (opening another when all are busy, up to ``max_connections``), and records
``answer time - intended send time``. Plain asyncio streams (uvloop when available) with a
minimal HTTP/1.1 parser keep the client's own cost per request small.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass


@dataclass
class OpenLoopResult:
    rate: float
    duration_s: float
    sent: int
    ok: int
    bad: int
    late_starts: int  # requests that could not even start within 10 ms of their time
    latencies_ms: list[float]
    failures: dict[str, int]  # what the bad answers were: "status 503", "IncompleteReadError"

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[index]


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used = False  # a kept-alive connection the server may have closed meanwhile

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status


async def _run(
    host: str,
    port: int,
    *,
    rate: float,
    duration_s: float,
    key: str,
    vouchers: int,
    max_connections: int,
    warm_connections: int,
) -> OpenLoopResult:
    free: list[_Conn] = []
    opened = 0
    latencies: list[float] = []
    counts = {"ok": 0, "bad": 0, "late": 0}
    failures: dict[str, int] = {}
    salt = f"{random.getrandbits(48):x}"
    slot = asyncio.Condition()

    async def open_conn() -> _Conn:
        nonlocal opened
        opened += 1
        reader, writer = await asyncio.open_connection(host, port)
        return _Conn(reader, writer)

    for _ in range(warm_connections):
        free.append(await open_conn())

    def request(i: int) -> bytes:
        code = f"B{random.randint(1, vouchers):012d}"
        body = b'{"amount_minor":1,"currency":"EUR"}'
        return (
            f"POST /v1/pos/vouchers/{code}/redemptions HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Idempotency-Key: s6-{salt}-{i}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    async def one(i: int, intended: float) -> None:
        async with slot:
            if not free and opened >= max_connections:
                await slot.wait_for(lambda: bool(free))
            conn = free.pop() if free else None
        if conn is None:
            conn = await open_conn()
        if time.perf_counter() - intended > 0.010:
            counts["late"] += 1
        status: int | str
        try:
            status = await conn.exchange(request(i))
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            conn.writer.close()
            retry = conn.used  # the server closed an idle kept-alive connection: as any HTTP
            conn = await open_conn()  # client does, send again (same Idempotency-Key) once
            status = type(error).__name__
            if retry:
                try:
                    status = await conn.exchange(request(i))
                except (OSError, asyncio.IncompleteReadError, ValueError) as again:
                    status = type(again).__name__
                    conn.writer.close()
                    conn = await open_conn()
        conn.used = True
        latencies.append((time.perf_counter() - intended) * 1000)
        if isinstance(status, int) and 200 <= status < 300:
            counts["ok"] += 1
        else:
            counts["bad"] += 1
            kind = f"status {status}" if isinstance(status, int) else status
            failures[kind] = failures.get(kind, 0) + 1
        async with slot:
            free.append(conn)
            slot.notify()

    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter() + 0.05
    total = int(rate * duration_s)
    for i in range(total):
        intended = start + i / rate
        delay = intended - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, intended)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    for conn in free:
        conn.writer.close()
    return OpenLoopResult(
        rate, duration_s, total, counts["ok"], counts["bad"], counts["late"], latencies, failures
    )


def run(
    host: str,
    port: int,
    *,
    rate: float,
    duration_s: float,
    key: str,
    vouchers: int,
    max_connections: int = 256,
    warm_connections: int = 32,
) -> OpenLoopResult:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        pass
    # Never asyncio's debug mode (any non-empty PYTHONASYNCIODEBUG turns it on, "0" included):
    # it slows the client, and a late client shows up as server latency here.
    return asyncio.run(
        _run(
            host,
            port,
            rate=rate,
            duration_s=duration_s,
            key=key,
            vouchers=vouchers,
            max_connections=max_connections,
            warm_connections=warm_connections,
        ),
        debug=False,
    )
