"""The API under uvicorn, driven by wrk: the server, one wrk run, and a repeated figure."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import LUA, ROOT, Config, console


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, dsn: str, cfg: Config) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "SCRIP_DATABASE_URL": dsn,
            "SCRIP_DB_POOL_SIZE": str(cfg.pool_size),
        }
        uvicorn = Path(sys.executable).parent / "uvicorn"
        self.proc = subprocess.Popen(
            [
                str(uvicorn), "scrip.server:app_from_env", "--factory",
                "--workers", str(cfg.workers), "--host", "127.0.0.1", "--port", str(self.port),
                "--log-level", "warning", "--no-access-log",
            ],
            env=env, cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r:
                    if r.status == 200 and len(self.worker_pids()) >= cfg.workers:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("uvicorn exited at start")
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("uvicorn did not answer within 60 s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        pids: list[int] = []
        try:
            for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
                pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
        workers = []  # the API workers, not multiprocessing's resource tracker
        for pid in pids:
            try:
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    workers.append(pid)
            except OSError:
                pass
        return workers

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the API workers have used so far. Per request it is the
        figure least moved by other load on a shared machine: a measure of the code itself."""
        ticks = 0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            found = re.search(r"VmRSS:\s+(\d+) kB", status)
            if found:
                sizes.append(int(found.group(1)) / 1024)
        return sizes

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wrk(
    server: Server,
    script: str,
    *,
    connections: int,
    duration: int,
    threads: int | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write((LUA / "common.lua").read_text() + "\n" + (LUA / script).read_text())
        path = f.name
    threads = threads or min(connections, 2)
    cpu_before = server.cpu_seconds()
    try:
        out = subprocess.run(
            [
                "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
                "--timeout", "10s", "-s", path, server.url,
            ],
            capture_output=True, text=True, timeout=duration + 60,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
    finally:
        os.unlink(path)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout[-800:]} {out.stderr[-800:]}")
    data: dict[str, Any] = json.loads(line[len("BENCHJSON ") :])
    seconds = data["duration_us"] / 1e6
    data["rps"] = data["requests"] / seconds
    data["ok_rps"] = data["ok"] / seconds
    data["ops_rps"] = data["ops"] / seconds
    data["pairs_rps"] = data["done_pairs"] / seconds
    data["server_cpu_ms"] = (server.cpu_seconds() - cpu_before) * 1000 / max(1, data["requests"])
    return data


@dataclass
class Figure:
    name: str
    value: float  # the headline: successful answers (or completed operations) per second
    unit: str
    runs: list[dict[str, Any]]

    def median(self, key: str) -> float:
        return float(statistics.median(r[key] for r in self.runs))

    def summary(self) -> dict[str, Any]:
        return {
            "value": round(self.value, 1),
            "unit": self.unit,
            "requests_per_s": round(self.median("rps"), 1),
            "p50_ms": round(self.median("p50_us") / 1000, 2),
            "p99_ms": round(self.median("p99_us") / 1000, 2),
            "p999_ms": round(self.median("p999_us") / 1000, 2),
            "errors": int(sum(r["bad"] + r["socket_errors"] for r in self.runs)),
            "server_cpu_ms_per_request": round(self.median("server_cpu_ms"), 2),
            "bad_sample": next((r["bad_sample"] for r in self.runs if r["bad_sample"]), ""),
            "runs": len(self.runs),
        }


def measure(
    name: str, unit: str, key: str, cfg: Config, run: Callable[[int], dict[str, Any]]
) -> Figure:
    runs = []
    for i in range(cfg.repeat):
        data = run(i)
        runs.append(data)
        console.log(
            f"{name}: {data[key]:,.1f} {unit} (p99 {data['p99_us'] / 1000:.1f} ms,"
            f" errors {data['bad'] + data['socket_errors']}) {data['bad_sample'][:100]}"
        )
    return Figure(name, float(statistics.median(r[key] for r in runs)), unit, runs)
