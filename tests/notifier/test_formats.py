"""Pure parts of the notifier: texts per language, the Teams card, the webhook signature, storm
grouping, the digest's counts and configuration errors (R2, R11); who receives alerts is in
tests/foundation/test_away.py (R10)."""

from __future__ import annotations

import hmac
import json
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import jsonschema
import pytest

from schemas.events import MailArchived, MailCompleted, Party
from schemas.identity import make_event_id
from schemas.vocab import AlertKind, CompletedVia, SensitiveKind
from services.common.orgconfig import Organisation
from services.common.outgoing import Marker, sakspost_marker
from services.notifier.cards import CARD_CONTENT_TYPE, teams_message
from services.notifier.compose import assigned_notice
from services.notifier.config import NotifierConfigError, parse_notifier_config
from services.notifier.digest import apply_archived, apply_completed, apply_routed, summarise
from services.notifier.kvstore import PendingAlert, due_groups
from services.notifier.mime import notice_mime, plain_text
from services.notifier.signing import sign, verify
from tests.notifier.support import NOW, alert, fast_config, routed
from tests.support.signing import TEST_KEYS

CARD_SCHEMA = json.loads((Path(__file__).parent / "adaptive_card_1_5.schema.json").read_text())


def test_the_teams_card_is_a_valid_adaptive_card(org: Organisation) -> None:
    for sensitive in ((), (SensitiveKind.HELSE,)):
        event = routed(3, "eva.braut", org, department="kultur", sensitive=sensitive)
        notice = assigned_notice(event, org, fast_config(org))
        assert notice is not None
        message = teams_message(notice)
        (attachment,) = message["attachments"]
        assert attachment["contentType"] == CARD_CONTENT_TYPE
        validator = jsonschema.Draft202012Validator(
            CARD_SCHEMA, format_checker=jsonschema.FormatChecker()
        )
        validator.validate(attachment["content"])
    broken = {**attachment["content"], "body": [{"type": "TextBlok", "text": "x"}]}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def test_notices_speak_the_recipients_language(org: Organisation) -> None:  # R11
    config = fast_config(org)
    texts = {}
    for staff_id in ("kjellaug.sele", "eva.braut", "liv.karin.skjaerpe"):  # nn, nb, en
        event = routed(4, staff_id, org, department="kultur", sensitive=(SensitiveKind.HELSE,))
        notice = assigned_notice(event, org, config)
        assert notice is not None and notice.message.warning is not None
        texts[staff_id] = notice.message.warning
    assert (
        texts["kjellaug.sele"].startswith("Åtvaring")
        and "helseopplysningar" in texts["kjellaug.sele"]
    )
    assert texts["eva.braut"].startswith("Advarsel") and "helseopplysninger" in texts["eva.braut"]
    assert texts["liv.karin.skjaerpe"].startswith("Warning")


def test_no_notice_without_an_assignee(org: Organisation) -> None:
    assert assigned_notice(routed(5, None, org), org, fast_config(org)) is None


def test_the_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"notice_id":"x"}'
    # The documented scheme, computed independently: sha256=<hex HMAC-SHA256(secret, body)>.
    assert sign(body, "s3cret") == ("sha256=" + hmac.new(b"s3cret", body, "sha256").hexdigest())
    assert verify(body, "s3cret", sign(body, "s3cret"))
    assert not verify(body, "other", sign(body, "s3cret"))


def test_a_storm_within_one_window_is_one_group_and_late_alerts_wait_for_the_next() -> None:
    window = timedelta(seconds=60)
    pending = [
        PendingAlert(f"k{n}", NOW + timedelta(seconds=n), alert(n, AlertKind.OVERDUE, "bygg"))
        for n in range(200)
    ]
    assert due_groups(pending, NOW + timedelta(seconds=59), window) == []
    (group,) = due_groups(pending, NOW + timedelta(seconds=60), window)
    assert len(group.members) == 61  # arrived at +0 … +60 s
    again = due_groups(list(reversed(pending)), NOW + timedelta(seconds=60), window)
    assert again == [group]  # the same members whatever the order: the same notice ids


def test_the_digest_counts_open_unassigned_overdue_archived_and_per_caseworker(
    org: Organisation,
) -> None:
    views = {}
    for n, who in enumerate(["kristin.hovland", "kristin.hovland", None, "gerd.skjaerpe"]):
        event = routed(n, who, org)
        views[event.case_id] = apply_routed(None, event)
    late = routed(0, "kristin.hovland", org)
    done = routed(3, "gerd.skjaerpe", org)
    completed = MailCompleted(
        event_id=make_event_id("completed", done.case_id), case_id=done.case_id,
        occurred_at=NOW + timedelta(hours=1), department="bygg",
        by=Party(address="gerd.skjaerpe@ha.kommune.no"), via=CompletedVia.ARCHIVE,
    )  # fmt: skip
    archived = MailArchived(
        event_id=make_event_id("archived", done.case_id), case_id=done.case_id,
        occurred_at=NOW + timedelta(hours=1), department="bygg", archive_system="acos-websak",
        journalpost_id="1", registry_number="26/1-1", documents=[],
    )  # fmt: skip
    views[done.case_id] = apply_archived(apply_completed(views[done.case_id], completed), archived)
    # A redelivered `routed` after Ferdig does not reopen the case.
    views[done.case_id] = apply_routed(views[done.case_id], done)
    assert views[late.case_id] == apply_routed(views[late.case_id], late)
    digest = summarise("bygg", "2026-11-29", list(views.values()), NOW + timedelta(days=4))
    assert (digest.open, digest.unassigned, digest.overdue, digest.archived) == (3, 1, 3, 0)
    assert [(c.name, c.open) for c in digest.caseworkers] == [("Kristin Hovland", 2)]
    today = summarise("bygg", "2026-11-25", list(views.values()), NOW + timedelta(hours=2))
    assert (today.overdue, today.archived) == (0, 1)


def test_a_bad_configuration_names_file_field_and_fix(org: Organisation) -> None:
    source = Path("notifier.yaml")
    route = {"channel": "email"}
    good = {"defaults": {"assigned": route, "alerts": route, "digest": route}}
    with pytest.raises(NotifierConfigError, match=r"notifier.yaml.*\n.*defaults.alerts.channel"):
        parse_notifier_config(
            {**good, "defaults": {**good["defaults"], "alerts": {"channel": "fax"}}}, source, org
        )
    with pytest.raises(NotifierConfigError, match=r"digest_at.*fix: write it in quotes"):
        parse_notifier_config({**good, "digest_at": 450}, source, org)
    with pytest.raises(NotifierConfigError, match=r"\['sport'\] are not in the organisation"):
        parse_notifier_config({**good, "departments": {"sport": {}}}, source, org)
    with pytest.raises(NotifierConfigError, match="repeat one"):
        parse_notifier_config(
            {**good, "defaults": {**good["defaults"], "digest": {"channel": "email",
                                                               "fallback": ["email"]}}},
            source, org,
        )  # fmt: skip
    config = parse_notifier_config(
        {**good, "departments": {"helse": {"alerts": {"channel": "teams"}}}}, source, org
    )
    assert config.for_department("helse").alerts.channel.value == "teams"
    assert config.for_department("helse").assigned.channel.value == "email"


@pytest.mark.parametrize(
    "subject", ["Søknad om løyve – gnr 12/3", "plain words " * 12, "x" * 2000], ids=str.__len__
)
def test_a_notice_email_reads_back_as_written_and_keeps_to_the_line_length(
    org: Organisation, subject: str
) -> None:  # R11: written by hand, the e-mail must still be what EmailMessage would read
    notice = assigned_notice(
        routed(4, "gerd.skjaerpe", org, subject=subject), org, fast_config(org)
    )
    assert notice is not None
    raw = notice_mime(notice, org.no_reply_address, "Hå kommune – Sakspost", TEST_KEYS, NOW)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(mail, EmailMessage)
    assert mail["Subject"] == notice.message.title
    assert mail["To"].addresses[0].display_name == "Gerd Skjærpe"
    assert str(mail["From"]) == f"Hå kommune – Sakspost <{org.no_reply_address}>"
    # Text in base64 carries MIME's canonical CRLF line breaks.
    assert mail.get_content().replace("\r\n", "\n") == plain_text(notice.message)
    assert mail.defects == []
    assert sakspost_marker(raw, org, TEST_KEYS, NOW) is Marker.SEALED
