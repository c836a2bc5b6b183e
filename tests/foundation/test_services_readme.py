"""The handler example in services/README.md compiles and its test passes, as written there."""

from __future__ import annotations

import re
from typing import Any

from services.common.orgconfig import Organisation
from services.common.settings import REPO_ROOT

# What the example needs; the README shows the code a newcomer writes, not the imports.
IMPORTS = """
from faststream.nats import TestNatsBroker
from schemas.events import Alert, MailClassified
from schemas.examples import EXAMPLES
from schemas.identity import make_event_id
from schemas.subjects import mail_event_filter
from schemas.vocab import AlertKind
from services.common.app import ServiceApp
from services.common.jetstream import ConsumerSpec
from services.common.orgconfig import Organisation
from services.common.publisher import Channel
from services.common.resources import Publisher
from services.common.settings import Settings
"""


def _example() -> str:
    readme = (REPO_ROOT / "services" / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- example: handler -->\n```python\n(.*?)```", readme, re.DOTALL)
    assert match, "services/README.md lost its handler example"
    return match.group(1)


def test_the_example_is_short() -> None:
    lines = [line for line in _example().splitlines() if line.strip()]
    assert len(lines) < 30


async def test_the_readme_example_runs(org: Organisation) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(IMPORTS + _example(), "services/README.md", "exec"), namespace)
    await namespace["test_a_doubtful_class_alerts_the_supervisors"](org)
