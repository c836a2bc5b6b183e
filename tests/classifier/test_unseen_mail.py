"""The rules generalise (R9): mail written for this test, not from the labelled corpus, is
classified as the classification guide says."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.classifier.corpus import classify_mime
from services.classifier.received import default_classifier
from services.common.orgconfig import Organisation

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).with_name("unseen_mail.yaml")).read_text(encoding="utf-8")
)
# The classifier as the service runs it: rules and the current model.
CLASSIFIER = default_classifier()


def build_mime(case: dict[str, Any]) -> bytes:
    message = EmailMessage()
    message["From"] = case["from"]
    message["To"] = case.get("to", "post@ha.kommune.no")
    message["Subject"] = case["subject"]
    message["Message-ID"] = f"<{CASES.index(case)}.unseen@test.example>"
    if "reply_to" in case:
        message["Reply-To"] = case["reply_to"]
    for name, value in case.get("headers", {}).items():
        message[name] = value
    message.set_content(case["body"])
    for filename in case.get("attachments", []):
        message.add_attachment(
            b"placeholder", maintype="application", subtype="octet-stream", filename=filename
        )
    return message.as_bytes()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_unseen_mail(case: dict[str, Any], org: Organisation) -> None:
    result = classify_mime(build_mime(case), CLASSIFIER, org)
    assert result.mail_class.value == case["expect"], result.reasons
    if "department" in case:
        assert result.suggested_department == case["department"]
    if "sensitive" in case:
        assert sorted(k.value for k in result.sensitive) == sorted(case["sensitive"])
    assert result.reasons and 0.0 <= result.confidence <= 1.0
