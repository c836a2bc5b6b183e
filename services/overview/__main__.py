"""`python -m services.overview`: run the supervisors' overview against SAKSPOST_NATS_URL."""

import asyncio

from services.common.app import prepare
from services.overview.app import build


def main() -> None:
    settings, org = prepare("overview")
    asyncio.run(build(settings, org).serve())


if __name__ == "__main__":
    main()
