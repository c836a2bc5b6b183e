"""A hypothesis strategy for hostile MIME (issue #16, deliverable 9): one of the attacker's pieces
(`devtools/hostile_mail.py`: deep nesting, huge and numerous headers, tag soup, encoded-word
storms, comment storms, subject line breaks, image bombs, thousands of parts, huge attachments)
at a drawn size, sometimes cut short. The hypothesis profile (`tests/conftest.py`) bounds how many
examples run: few in `make test`, more in `make test-full`.
"""

from __future__ import annotations

from hypothesis import strategies as st

from devtools.hostile_mail import PIECES
from services.classifier.engine import Classification
from services.classifier.received import default_classifier
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation


@st.composite
def hostile_mail(draw: st.DrawFn) -> bytes:
    """One hostile mail: a piece at a drawn size, sometimes with its bytes cut short."""
    _name, build, smallest, largest = draw(st.sampled_from(PIECES))
    raw = build(draw(st.integers(min_value=smallest, max_value=max(smallest, largest))))
    if draw(st.booleans()):
        return raw
    return raw[: draw(st.integers(min_value=0, max_value=len(raw)))]


def parse_and_classify(raw: bytes, mailbox: str, org: Organisation) -> Classification:
    """Run in a worker process: what the classifier does with a mail, on its own."""
    return default_classifier().classify(parse_mail(raw), mailbox, org)
