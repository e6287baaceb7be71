"""Real peers for the pusher: PostgreSQL (throwaway databases), Ralph LRS, a cuttable TCP link.

PostgreSQL: the fixtures of tests/classroom_hub/central/conftest.py (127.0.0.1:5432, trust
auth, a random database per session, dropped at the end). Ralph: started once per session
from .venv-ralph (`make ralph`) with `ralph runserver -b fs` on a free port and a user
made by `ralph auth`, stopped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from classroom_hub.store import TelemetryStore
from tests.classroom_hub.central.conftest import SERVER, central_dsn, database_prefix, db, fresh_dsn
from tests.conftest import room_settings

__all__ = ["SERVER", "central_dsn", "database_prefix", "db", "fresh_dsn"]

ROOT = Path(__file__).resolve().parents[3]
RALPH_PYTHON = ROOT / ".venv-ralph" / "bin" / "python"
RALPH_CLI = ROOT / ".venv-ralph" / "bin" / "ralph"
RALPH_USER, RALPH_PASSWORD = "hub-test", "mat-khau-lrs-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Ralph:
    """A running Ralph LRS; ``statements()`` reads what it stored from its file."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.data = workdir / "data"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None
        self.env = {
            **os.environ,
            "RALPH_APP_DIR": str(workdir / "app"),
            "RALPH_AUTH_FILE": str(workdir / "auth.json"),
            "RALPH_RUNSERVER_BACKEND": "fs",
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/xAPI"

    def add_user(self) -> None:
        subprocess.run(
            [str(RALPH_CLI), "auth", "-u", RALPH_USER, "-p", RALPH_PASSWORD, "-s", "all",
             "-M", "mailto:hub-test@thcs-demo.example", "-w"],
            env=self.env, check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def start(self) -> None:
        quiet = self.workdir / "cwd"  # uvicorn's reloader watches the working directory: keep it empty
        quiet.mkdir(exist_ok=True)
        self._log = open(self.workdir / "ralph.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(RALPH_PYTHON), str(Path(__file__).with_name("ralph_server.py")), "runserver", "-b", "fs",
             "-h", "127.0.0.1", "-p", str(self.port), "--fs-default-directory-path", str(self.data)],
            cwd=quiet, env=self.env, stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.workdir / "ralph.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"Ralph did not start on port {self.port}:\n{log}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def statements(self) -> list[dict[str, Any]]:
        path = self.data / "fs_lrs.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def ralph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ralph]:
    if not RALPH_PYTHON.exists():
        pytest.fail("Ralph LRS is not installed: run `make ralph` (a venv of its own in .venv-ralph)", pytrace=False)
    server = Ralph(tmp_path_factory.mktemp("ralph"))
    server.add_user()
    server.start()
    yield server
    server.stop()


class Cuttable:
    """A TCP relay on 127.0.0.1 in front of a real server, which a test cuts and restores:
    the destination is "down" for the hub while the server itself keeps running.

    ``stall()`` makes the links open now go silent without closing them (no FIN, no RST):
    a half-open connection, as when a router between the hub and the centre reboots.
    New connections still go through."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._gates: set[asyncio.Event] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()
        for gate in self._gates:  # stalled pipes see the aborted links and end
            gate.set()

    def stall(self) -> None:
        for gate in self._gates:
            gate.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        if self._server is None:  # cut while connecting upstream
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self._links |= {writer, up_writer}
        gate = asyncio.Event()
        gate.set()
        self._gates.add(gate)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    await gate.wait()
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._links -= {writer, up_writer}
        self._gates.discard(gate)


@pytest.fixture
async def cuttable() -> AsyncIterator[Any]:
    relays: list[Cuttable] = []

    async def make(target_port: int) -> Cuttable:
        relay = Cuttable(target_port)
        await relay.start()
        relays.append(relay)
        return relay

    yield make
    for relay in relays:
        await relay.cut()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[TelemetryStore]:
    s = TelemetryStore(tmp_path / "hub" / "telemetry.db", synchronous="NORMAL")
    await s.open()
    yield s
    await s.close()


def statement(step: int = 1, student: str = "hs-7a-01", **extra: Any) -> dict[str, Any]:
    """A realistic statement of a lesson (about 600 bytes), with a fresh UUID."""
    home = "https://hub.thcs-demo.example"
    out: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": home, "name": student}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"vi-VN": "đã trả lời"}},
        "object": {
            "objectType": "Activity",
            "id": f"{home}/lessons/chuyen-dong-thang-10/steps/{step}",
            "definition": {
                "name": {"vi-VN": f"Câu hỏi {step}"},
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                "interactionType": "choice",
            },
        },
        "result": {"success": step % 3 != 0, "response": "b", "score": {"scaled": 1.0 if step % 3 else 0.0}},
        "context": {
            "registration": str(uuid.uuid4()),
            "contextActivities": {"parent": [{"id": f"{home}/lessons/chuyen-dong-thang-10"}]},
            "platform": "classroom-hub",
            "language": "vi-VN",
            "extensions": {"https://w3id.org/classroom-hub/xapi/room": "lop-7a"},
        },
        "timestamp": "2026-03-02T08:15:00.000Z",
    }
    out.update(extra)
    return out


def hub_settings(tmp_path: Path, destinations: list[dict[str, Any]], **central: Any) -> Any:
    """Room settings whose store is ``tmp_path/hub/telemetry.db`` (as the store fixture), quick retries."""
    central = {"retry_min_s": 0.05, "retry_max_s": 0.4, "idle_check_s": 0.1, "roster_pull_interval_min": 0,
               "destinations": destinations, **central}  # fmt: skip
    return room_settings(tmp_path, None, central=central)
