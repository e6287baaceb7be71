"""A private Mosquitto with the hub's shipped settings, for the benchmarks (shared by the scripts)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"nothing listens on port {port}")
        time.sleep(0.02)


def private_mosquitto(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Mosquitto on a free loopback port with config/mosquitto/classroom-hub.conf."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        (ROOT / "config" / "mosquitto" / "classroom-hub.conf").read_text()
        + f"\nlistener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        + ("user root\n" if os.geteuid() == 0 else "")  # as root Mosquitto would drop to 'mosquitto'
    )
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, port
