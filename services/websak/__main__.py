"""`python -m services.websak`: run the websak service against SAKSPOST_NATS_URL.

`python -m services.websak retry [CASE_ID ...]`: retry refused cases (see `retry.py`).
`python -m services.websak archive-outgoing CASE_ID --by STAFF_ID`: file a reply a shared mailbox
sent (the case id a `reply_not_from_websak` alert names) as an outgoing journalpost (R14).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.common.app import prepare
from services.common.broker import make_broker
from services.common.orgconfig import Organisation
from services.common.publisher import EventPublisher
from services.common.settings import Settings
from services.websak.app import PUBLISHES, Wiring, build, open_archiver, rendering_workers
from services.websak.archiving import Outcome
from services.websak.config import (
    ArchivingOptions,
    WebSakConfigError,
    WebSakConnection,
    load_marker_key,
    load_placement,
    load_settings_model,
)
from services.websak.retry import retry_refused


async def _retry(settings: Settings, org: Organisation, wiring: Wiring, case_ids: list[str]) -> int:
    broker = make_broker(settings, "websak")
    await broker.connect()
    js = broker.config.connection_state.stream
    assert js is not None
    assert wiring.options is not None  # read and checked by `main`
    workers = rendering_workers(settings, wiring.options, "sakspost-websak-retry-worker")
    archiver, archive = await open_archiver(
        js, EventPublisher(broker, PUBLISHES).publish, settings, org, wiring, workers
    )
    try:
        results = await retry_refused(archiver, case_ids)
    finally:
        await archive.aclose()
        await workers.close()
        await broker.stop()
    for result in results:
        print(f"{result.case_id}: {result.outcome or result.problem}")
    archived = (Outcome.ARCHIVED, Outcome.ALREADY_ARCHIVED)
    return 0 if all(r.outcome in archived for r in results) else 1


_OUTGOING_ANSWERS = {
    None: "websak has not heard of this sent mail (the case id of a `sent` event)",
    Outcome.NOT_IN_ARCHIVE_CASE: "its conversation has no archived mail yet: archive that first",
}


async def _archive_outgoing(
    settings: Settings, org: Organisation, wiring: Wiring, case_id: str, by: str
) -> int:
    if by not in {member.id for member in org.staff}:
        print(f"{by!r} is not a staff id of the organisation file", file=sys.stderr)
        return 2
    broker = make_broker(settings, "websak")
    await broker.connect()
    js = broker.config.connection_state.stream
    assert js is not None
    assert wiring.options is not None  # read and checked by `main`
    workers = rendering_workers(settings, wiring.options, "sakspost-websak-outgoing-worker")
    archiver, archive = await open_archiver(
        js, EventPublisher(broker, PUBLISHES).publish, settings, org, wiring, workers
    )
    try:
        outcome = await archiver.archive_outgoing(case_id, by)
        stored = await archiver.receipts.get(case_id)
    finally:
        await archive.aclose()
        await workers.close()
        await broker.stop()
    if outcome in _OUTGOING_ANSWERS:
        print(f"{case_id}: {_OUTGOING_ANSWERS[outcome]}", file=sys.stderr)
        return 1
    receipt = stored[0] if stored else None
    if outcome not in (Outcome.ARCHIVED, Outcome.ALREADY_ARCHIVED) or receipt is None:
        print(f"{case_id}: {outcome}", file=sys.stderr)
        return 1
    print(
        f"{case_id}: {outcome} as outgoing journalpost {receipt.journalpost_id} "
        f"({receipt.registry_number}) in case {receipt.archive_case_id}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.websak", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    retry = commands.add_parser("retry", help="retry refused cases (all when none is named)")
    retry.add_argument("case_ids", nargs="*", metavar="CASE_ID")
    outgoing = commands.add_parser(
        "archive-outgoing", help="file a reply sent from Sakspost as an outgoing journalpost (R14)"
    )
    outgoing.add_argument(
        "case_id", metavar="CASE_ID", help="the sent mail's case id (the alert's)"
    )
    outgoing.add_argument("--by", required=True, metavar="STAFF_ID", help="who files it")
    args = parser.parse_args(argv)
    settings, org = prepare("websak")
    try:
        # Read and check the configuration before anything starts, so a mistake stops here.
        options = load_settings_model(ArchivingOptions)
        connection = load_settings_model(WebSakConnection)
        marker_key = load_marker_key(settings)
        load_placement(options.config).check_covers(org)
    except WebSakConfigError as error:
        print(error, file=sys.stderr)
        return 2
    wiring = Wiring(connection=connection, options=options, marker_key=marker_key)
    if args.command == "retry":
        return asyncio.run(_retry(settings, org, wiring, args.case_ids))
    if args.command == "archive-outgoing":
        return asyncio.run(_archive_outgoing(settings, org, wiring, args.case_id, args.by))
    asyncio.run(build(settings, org, wiring).serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
