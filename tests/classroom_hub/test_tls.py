"""The hub on a broker that speaks TLS only (mqtts://), as a school whose Wi-Fi is shared:
the queue kept while the hub was away arrives whole, and nothing twice."""

from __future__ import annotations

import subprocess
from pathlib import Path

from classroom_hub.app import LINK, STORE
from tests.conftest import (
    Mosquitto,
    after_any_redelivery,
    free_port,
    publish_while_hub_away,
    room_settings,
    run_hub,
    wait_for,
)


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A school's own certificate authority and the broker's certificate for 127.0.0.1."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Truong THCS demo CA",
            "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "broker.key",
            "-out", "broker.csr")  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "san.ext", "-out", "broker.crt")  # fmt: skip
    return folder / "ca.crt", folder / "broker.crt", folder / "broker.key"


async def test_a_queue_kept_on_a_tls_broker_arrives_whole_and_once(tmp_path: Path) -> None:
    ca, cert, key = make_certificates(tmp_path / "pki")
    broker = Mosquitto(tmp_path / "mosquitto")
    tls_port = free_port()
    with broker.conf.open("a") as conf:
        conf.write(f"listener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n")
    broker.start()
    try:
        url = f"mqtts://127.0.0.1:{tls_port}"
        settings = room_settings(tmp_path, url, mqtt={"url": url, "ca_file": str(ca), "reconnect_min_s": 0.1})
        # Enough to fill many TLS records and more than one read pass of the hub.
        readings = ({"ts": 1_800_000_000.0 + i, "readings": [{"key": "ph", "value": 6.5}]} for i in range(5000))
        await publish_while_hub_away(settings, "node-1", readings)
        async with run_hub(settings) as hub:
            await wait_for(lambda: hub.app[STORE].stats.readings == 5000, timeout=30)
            assert hub.app[LINK].url.startswith("mqtts://")
        async with run_hub(settings) as hub:
            await wait_for(lambda: hub.app[LINK].is_up, timeout=10)
            await after_any_redelivery(hub, settings, "node-1")  # it would come right after the CONNACK
            assert hub.app[STORE].stats.duplicates_ignored == 0
            assert hub.app[STORE].stats.readings == 1  # the marker only
    finally:
        broker.stop()
