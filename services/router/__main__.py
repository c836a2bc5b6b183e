"""`python -m services.router`: the router service."""

from __future__ import annotations

import asyncio

from services.common.app import prepare
from services.router.app import build


def main() -> None:
    settings, org = prepare("router")
    asyncio.run(build(settings, org).serve())


if __name__ == "__main__":
    main()
