"""`python -m services.ingest`: run the ingest service until SIGTERM."""

from __future__ import annotations

import asyncio

from services.common.app import prepare
from services.ingest.app import build


def main() -> None:
    settings, org = prepare("ingest")
    asyncio.run(build(settings, org).serve())


if __name__ == "__main__":
    main()
