"""`python -m services.classifier`: run the classifier against SAKSPOST_NATS_URL."""

import asyncio

from services.classifier.app import build
from services.common.app import prepare


def main() -> None:
    settings, org = prepare("classifier")
    asyncio.run(build(settings, org).serve())


if __name__ == "__main__":
    main()
