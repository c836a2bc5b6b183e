"""`python -m services.websak`: run the websak service against SAKSPOST_NATS_URL.

Retrying a refused mail and filing a sent reply are commands the running service answers
(`commands.py`), sent as the signed-in person: `sakspost cases retry-archive CASE_ID …` and
`sakspost cases archive-reply CASE_ID`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.common.app import prepare
from services.websak.app import Wiring, build
from services.websak.config import (
    ArchivingOptions,
    WebSakConfigError,
    WebSakConnection,
    load_marker_key,
    load_placement,
    load_settings_model,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.websak", description=__doc__)
    parser.parse_args(argv)
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
    asyncio.run(build(settings, org, wiring).serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
