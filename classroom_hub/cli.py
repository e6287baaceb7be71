"""``classroom-hub``: run the hub, the demo classroom, check a room file, manage accounts."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from classroom_hub import __version__
from classroom_hub.auth import ROLES, Accounts
from classroom_hub.errors import AuthError, HubError
from classroom_hub.logs import setup_logging
from classroom_hub.packages import declared_packages, resolve, unavailable_packages
from config.loader import ConfigError, load_settings
from config.settings import HubSettings

EXAMPLES = Path(__file__).resolve().parent.parent / "config" / "examples"
# The demo's rooms (``classroom-hub demo --room lab``): each its own file, port and data folder,
# so the three can run side by side.
DEMO_ROOMS = {"classroom": EXAMPLES / "demo.toml", "lab": EXAMPLES / "demo-lab.toml",
              "studio": EXAMPLES / "demo-studio.toml"}  # fmt: skip

Command = Callable[[argparse.Namespace], int]

def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        code: int = args.func(args)
        return code
    except ConfigError as err:
        _print_config_error(err)
        return 2
    except (HubError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="classroom-hub", description="On-premise smart-classroom hub")
    p.add_argument("--version", action="version", version=f"classroom-hub {__version__}")
    sub = p.add_subparsers(metavar="COMMAND")

    run = sub.add_parser("run", help="run the hub for a room")
    run.add_argument("-c", "--config", required=True, type=Path, help="the room file (TOML)")
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    run.set_defaults(func=_run)

    demo = sub.add_parser("demo", help="run the hub with a simulated room: classroom, STEM lab or studio")
    which = demo.add_mutually_exclusive_group()
    which.add_argument("--room", choices=sorted(DEMO_ROOMS), default="classroom",
                       help="which demo room (default: classroom; lab on port 8081, studio on 8082)")
    which.add_argument("-c", "--config", type=Path, default=None,
                       help="any room file instead; the demo keeps its data apart, in <data_dir>/demo")
    demo.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    demo.add_argument("--password", default="demo-2026", help="password of the demo accounts")
    demo.set_defaults(func=_demo)

    check = sub.add_parser("check-config", help="validate a room file and summarise it")
    check.add_argument("file", type=Path)
    check.set_defaults(func=_check_config)

    user = sub.add_parser("user", help="manage web accounts")
    user_sub = user.add_subparsers(metavar="ACTION")
    add = user_sub.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", help="display name, e.g. 'Cô Lan'")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("-c", "--config", required=True, type=Path)
    add.set_defaults(func=_user_add)
    lst = user_sub.add_parser("list", help="list accounts")
    lst.add_argument("-c", "--config", required=True, type=Path)
    lst.set_defaults(func=_user_list)
    pw = user_sub.add_parser("passwd", help="set a new password (ends the user's sessions)")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true")
    pw.add_argument("-c", "--config", required=True, type=Path)
    pw.set_defaults(func=_user_passwd)

    creds = sub.add_parser("mqtt-credentials", help="write Mosquitto passwords and topic rights for every device")
    creds.add_argument("-c", "--config", required=True, type=Path)
    creds.add_argument("--out", required=True, type=Path, help="folder for passwd, acl and credentials.csv")
    creds.add_argument("--revoke", action="append", default=[], metavar="DEVICE",
                       help="take a lost device's password and rights away, on every later run too")
    creds.add_argument("--rotate", action="append", default=[], metavar="DEVICE",
                       help="give a device (or the hub's user) a new password; brings a revoked device back")
    creds.set_defaults(func=_mqtt_credentials)

    tls = sub.add_parser("tls", help="HTTPS for the pages: the room certificate authority and the hub's certificate")
    tls_sub = tls.add_subparsers(metavar="ACTION")
    tls_init = tls_sub.add_parser(
        "init", help="make the room CA (once) and a server certificate for the hub's LAN names and addresses"
    )
    tls_init.add_argument("-c", "--config", required=True, type=Path)
    tls_init.add_argument("--name", action="append", default=[], help="a DNS name of the hub (repeatable)")
    tls_init.add_argument("--address", action="append", default=[], help="an IP address of the hub (repeatable)")
    tls_init.add_argument("--out", type=Path, help="folder for the files (default: <data_dir>/tls)")
    tls_init.add_argument("--cert", type=Path, help="use this certificate (PEM chain) instead of making one")
    tls_init.add_argument("--key", type=Path, help="the key of --cert")
    tls_init.set_defaults(func=_tls_init)

    # Each package adds its own commands (lessons, roster, central, push, ...): its declaration
    # names a ``register(subparsers)`` whose handlers take the parsed args and return an exit code.
    missing = [f"{name} ({reason})" for name, reason in unavailable_packages().items()]
    for package in declared_packages().values():
        if package.cli is None:
            continue
        try:
            register: Callable[[Any], None] = resolve(package.cli)
        except ImportError as err:
            missing.append(f"{package.name} (cannot be imported: {err})")
            continue
        register(sub)
    if missing:
        p.epilog = "Not available on this hub: " + "; ".join(missing)
    return p


def _run(args: argparse.Namespace) -> int:
    from classroom_hub.runner import serve

    settings = load_settings(args.config)
    setup_logging(args.log_level)
    asyncio.run(serve(settings))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from classroom_hub.demo import run_demo

    settings = load_settings(args.config if args.config is not None else DEMO_ROOMS[args.room])
    setup_logging(args.log_level)
    asyncio.run(run_demo(settings, password=args.password))
    return 0


def _check_config(args: argparse.Namespace) -> int:
    warnings: list[str] = []
    settings = load_settings(args.file, warnings)
    print(summarise(settings, args.file))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def summarise(settings: HubSettings, path: Path) -> str:
    room = settings.room
    lines = [
        f"{path}: OK",
        f"  room      {room.name} ({room.kind}), id {room.id}, school {room.school_code}",
        f"  broker    {settings.mqtt.url or 'embedded (amqtt on 127.0.0.1)'}",
        f"  web       http://{settings.http.host}:{settings.http.port}",
        f"  data      {settings.data_dir}",
    ]
    for package in declared_packages().values():
        if package.summary is not None:
            lines += package.summary(settings)
    lines.append(f"  language  {settings.language}")
    devices = settings.device_list()
    lines.append(f"  devices   {len(devices)}")
    by_kind: Counter[tuple[str, str]] = Counter((d.kind, d.transport.type) for _id, d in devices)
    for (kind, transport), n in sorted(by_kind.items()):
        lines.append(f"    {n:>4} x {kind:<15} over {transport}")
    return "\n".join(lines)


def _print_config_error(err: ConfigError) -> None:
    print(f"{err.path}: {len(err.problems)} problem(s) in the room file:", file=sys.stderr)
    for problem in err.problems:
        print(f"  {err.path}: {problem}", file=sys.stderr)


def _accounts(config: Path) -> Accounts:
    return Accounts(load_settings(config).data_dir / "accounts.db")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise AuthError("the two passwords differ")
    return first


def _user_add(args: argparse.Namespace) -> int:
    accounts = _accounts(args.config)
    try:
        user = accounts.add(args.username, _read_password(args.password_stdin), args.role, args.name)
    except AuthError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        accounts.close()
    print(f"created {user.username} ({user.role})")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    accounts = _accounts(args.config)
    try:
        for user in accounts.list():
            print(f"{user.username:<24} {user.role:<14} {user.display_name}")
    finally:
        accounts.close()
    return 0


def _user_passwd(args: argparse.Namespace) -> int:
    accounts = _accounts(args.config)
    try:
        accounts.set_password(args.username, _read_password(args.password_stdin))
    except AuthError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        accounts.close()
    print(f"password of {args.username} changed")
    return 0


def _mqtt_credentials(args: argparse.Namespace) -> int:
    from classroom_hub.mqtt_auth import CredentialsError, write_files

    settings = load_settings(args.config)
    try:
        written = write_files(settings, args.out, revoke=args.revoke, rotate=args.rotate)
    except CredentialsError as err:
        print(f"error: {args.config}: {err}", file=sys.stderr)
        return 2
    creds = written.credentials
    print(f"{len(creds)} accounts ({len(creds) - 1} devices + the hub) in {args.out}/:")
    print("  passwd           -> Mosquitto password_file")
    print("  acl              -> Mosquitto acl_file")
    print("  credentials.csv  -> user names and passwords to load onto the devices (keep it private)")
    if written.revoked:
        names = ", ".join(f"{r.username} (since {r.revoked_at})" for r in written.revoked)
        print(f"  revoked.csv      -> revoked, kept out on every run: {names}")
    for username in written.rotated:
        if username in written.set_in_room_file:
            print(f"{username}: its password is the one the room file (or environment) sets: change it there")
        else:
            print(f"new password for {username}: load it from credentials.csv onto the device")
    if args.revoke or args.rotate:
        print("Mosquitto applies this when it reloads: sudo systemctl reload mosquitto")
        print("(it then also disconnects a revoked device that is still connected)")
    print(f"Set the hub's own password: CLASSROOM_HUB_MQTT__USERNAME={creds[0].username} and")
    print("CLASSROOM_HUB_MQTT__PASSWORD=<its password from credentials.csv> in /etc/classroom-hub/env")
    return 0


def _tls_init(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from classroom_hub import tls

    settings = load_settings(args.config)
    folder = args.out or settings.data_dir / "tls"
    if (args.cert is None) != (args.key is None):
        print("error: --cert and --key go together", file=sys.stderr)
        return 2
    if args.cert is not None:
        files = tls.adopt(folder, args.cert, args.key)
        print(f"certificate and key checked and copied to {folder}/")
    else:
        public_host = urlsplit(settings.http.public_url).hostname if settings.http.public_url else None
        names, addresses = tls.lan_names(args.name, args.address, public_host)
        files = tls.init(folder, names, addresses)
        print(f"room CA and server certificate in {folder}/ for {', '.join([*names, *map(str, addresses)])}")
        print(f"  {files.ca}  -> install on every tablet and the display (docs/install.md, HTTPS)")
        print(f"  SHA-256 fingerprint: {tls.fingerprint(files.ca) if files.ca else '-'}")
    print("Add to the room file (and set http.port, e.g. 443, and http.redirect_port, e.g. 80):")
    print(files.settings_lines())
    return 0


if __name__ == "__main__":
    sys.exit(main())
