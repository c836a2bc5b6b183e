"""`python -m services.notifier`: run the notifier against SAKSPOST_NATS_URL."""

import asyncio

from services.common.app import prepare
from services.notifier.app import build


def main() -> None:
    settings, org = prepare("notifier")
    asyncio.run(build(settings, org).serve())


if __name__ == "__main__":
    main()
