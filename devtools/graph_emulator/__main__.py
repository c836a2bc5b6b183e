"""`python -m devtools.graph_emulator --org config/ha-kommune.yaml --port 8025 --smtp-port 2525`."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from devtools.graph_emulator.local_apps import APP_FILE, OPERATOR_APP_FILE, local_registrations
from devtools.graph_emulator.server import LOGIN_CA_FILE, run_emulator
from services.common.orgconfig import OrgConfigError, load_organisation


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.graph_emulator",
        description="Microsoft Graph mail emulator (HTTP + SMTP) on 127.0.0.1.",
    )
    parser.add_argument("--org", default="config/ha-kommune.yaml", help="organisation file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025, help="HTTP port (0: any free port)")
    parser.add_argument("--smtp-port", type=int, default=2525, help="SMTP port (0: any free)")
    parser.add_argument(
        "--login-port", type=int, default=0, help="Entra ID login host (HTTPS) port (0: any free)"
    )
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="a redirect URI of Sakspost's app registration (the overview's; repeatable)",
    )
    parser.add_argument(
        "--credentials-dir",
        type=Path,
        default=None,
        help=f"the secrets of Sakspost's app ({APP_FILE}) and the operator app "
        f"({OPERATOR_APP_FILE}) that `sakspost up` made",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"keep state here (and the login host's certificate, as {LOGIN_CA_FILE})",
    )
    return parser.parse_args(argv)


async def _serve(arguments: argparse.Namespace) -> None:
    org = load_organisation(arguments.org)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    data_dir: Path | None = arguments.data_dir
    async with run_emulator(
        org,
        arguments.host,
        arguments.port,
        arguments.smtp_port,
        data_dir=data_dir,
        login_port=arguments.login_port,
        login_ca_copy=data_dir / LOGIN_CA_FILE if data_dir is not None else None,
        sign_in_apps=local_registrations(arguments.credentials_dir, arguments.redirect_uri),
    ) as running:
        print(
            f"Graph emulator: {running.graph_url}  SMTP: {running.host}:{running.smtp_port}  "
            f"Entra ID: {running.login_url}",
            flush=True,
        )
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(sys.argv[1:] if argv is None else argv)
    try:
        asyncio.run(_serve(arguments))
    except OrgConfigError as error:
        print(error, file=sys.stderr)
        return 2
    except OSError as error:
        print(f"cannot start the emulator: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
