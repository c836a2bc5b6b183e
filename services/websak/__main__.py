"""`python -m services.websak`: run the websak service against SAKSPOST_NATS_URL.

`python -m services.websak retry [CASE_ID ...]`: retry refused cases (see `retry.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.common.broker import make_broker
from services.common.orgconfig import Organisation
from services.common.publisher import EventPublisher
from services.common.service import prepare
from services.common.settings import Settings
from services.websak.app import Wiring, build, open_archiver
from services.websak.archiving import Outcome
from services.websak.config import (
    ArchivingOptions,
    WebSakConfigError,
    WebSakConnection,
    load_placement,
    load_settings_model,
)
from services.websak.retry import retry_refused


async def _retry(settings: Settings, org: Organisation, wiring: Wiring, case_ids: list[str]) -> int:
    broker = make_broker(settings, "websak-retry")
    await broker.connect()
    js = broker.config.connection_state.stream
    assert js is not None
    archiver, archive = await open_archiver(js, EventPublisher(broker).publish, org, wiring)
    try:
        results = await retry_refused(archiver, case_ids)
    finally:
        await archive.aclose()
        await broker.stop()
    for result in results:
        print(f"{result.case_id}: {result.outcome or result.problem}")
    archived = (Outcome.ARCHIVED, Outcome.ALREADY_ARCHIVED)
    return 0 if all(r.outcome in archived for r in results) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.websak", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    retry = commands.add_parser("retry", help="retry refused cases (all when none is named)")
    retry.add_argument("case_ids", nargs="*", metavar="CASE_ID")
    args = parser.parse_args(argv)
    settings, org = prepare("websak")
    try:
        # Read and check the configuration before anything starts, so a mistake stops here.
        options = load_settings_model(ArchivingOptions)
        connection = load_settings_model(WebSakConnection)
        load_placement(options.config).check_covers(org)
    except WebSakConfigError as error:
        print(error, file=sys.stderr)
        return 2
    wiring = Wiring(connection=connection, options=options)
    if args.command == "retry":
        return asyncio.run(_retry(settings, org, wiring, args.case_ids))
    asyncio.run(build(settings, org, wiring).serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
