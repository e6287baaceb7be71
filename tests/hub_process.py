"""``classroom-hub run`` as a real process (what a power cut or the OOM killer hits): started,
waited for until healthy, stopped or killed, its log in a file. Used by the process tests, the
fault scenarios and bench/faults.py."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]


class HubProcess:
    def __init__(self, config: Path, http_port: int, log: Path, log_level: str = "info") -> None:
        self.config, self.http_port, self.log_path, self.log_level = config, http_port, log, log_level
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            command = ["classroom_hub.cli", "run", "-c", str(self.config), "--log-level", self.log_level]
            self.proc = subprocess.Popen([sys.executable, "-m", *command], stderr=log, cwd=ROOT)

    async def healthy(self, timeout: float = 20) -> dict[str, object]:
        """``/healthz`` once it answers 200 (every part up); fails with the hub's log if the
        process died or it was not healthy within ``timeout``."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.proc is not None and self.proc.poll() is None, self.log()
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{self.http_port}/healthz") as r:
                        if r.status == 200:
                            body: dict[str, object] = await r.json()
                            return body
                await asyncio.sleep(0.05)
        raise AssertionError(f"hub not healthy within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL, if it still runs: no clean-up of any kind, as a power cut."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


def push_now(room: Path) -> subprocess.Popen[bytes]:
    """``classroom-hub push now`` started, to be killed at a chosen moment (its output dropped)."""
    return subprocess.Popen(
        [sys.executable, "-m", "classroom_hub.cli", "push", "now", "-c", str(room)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def push_to_the_end(room: Path, timeout: float = 120) -> str:
    """``classroom-hub push now`` run to its end, which must be a success; what it printed."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "classroom_hub.cli", "push", "now", "-c", str(room),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode == 0, err.decode()
    return out.decode()
