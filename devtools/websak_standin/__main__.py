"""`python -m devtools.websak_standin --host 127.0.0.1 --port 8090 --data-dir DIR`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from devtools.serving import bound_socket
from devtools.websak_standin.runner import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
    create_standin,
    make_server,
)
from services.websak.config import DEFAULT_PLACEMENT_FILE, WebSakConfigError, load_placement


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.websak_standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=DEFAULT_PLACEMENT_FILE)
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="seconds")
    args = parser.parse_args(argv)
    try:
        placement = load_placement(args.config)
    except WebSakConfigError as error:
        print(error, file=sys.stderr)
        return 2
    standin = create_standin(
        args.data_dir,
        placement,
        # The same variables the adapter reads, so both ends agree without extra flags.
        static_tokens=frozenset({os.environ.get("SAKSPOST_WEBSAK_TOKEN", DEFAULT_TOKEN)}),
        client_id=os.environ.get("SAKSPOST_WEBSAK_CLIENT_ID", DEFAULT_CLIENT_ID),
        client_secret=os.environ.get("SAKSPOST_WEBSAK_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
        token_ttl_s=args.token_ttl,
    )
    sock = bound_socket(args.host, args.port)
    print(f"WebSak stand-in on http://{args.host}:{sock.getsockname()[1]}", flush=True)
    asyncio.run(make_server(standin).serve(sockets=[sock]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
