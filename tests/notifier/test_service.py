"""The notifier in-process on a real nats-server, with Graph as the emulator (through msgraph-sdk)
and Teams and the webhook as real HTTP listeners (R10, R11, R2)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from nats.js import JetStreamContext

from devtools.graph_emulator import RunningEmulator, run_emulator
from schemas.events import Event
from schemas.vocab import AlertKind, Channel, SensitiveKind
from services.common.clock import Clock
from services.common.jetstream import NOTICES_BUCKET
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.notifier.app import build_notifier
from services.notifier.config import NotifierConfig, NotifierSecrets
from services.notifier.runtime import Notifier
from services.notifier.signing import SIGNATURE_HEADER, verify
from tests.conftest import scaled
from tests.notifier.support import (
    Listener,
    ManualClock,
    alert,
    body_text,
    drained,
    fast_config,
    inbox_notices,
    matching,
    nothing_waiting,
    outbound_notices,
    routed,
    run_listener,
    starts_recorded,
)
from tests.support.connections import Connect
from tests.support.events import EventLog, event_log
from tests.support.publishing import EventInjector

WEBHOOK_SECRET = "documented-test-secret"


@dataclass
class Stack:
    emulator: RunningEmulator
    teams: Listener
    webhook: Listener
    notices: EventLog
    alerts: EventLog
    notifier: Notifier


@asynccontextmanager
async def notifier_stack(
    settings: Settings,
    org: Organisation,
    config: NotifierConfig | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[Stack]:
    async with (
        run_emulator(org, "127.0.0.1", 0, 0) as emulator,
        run_listener() as teams,
        run_listener() as webhook,
    ):
        secrets = NotifierSecrets.model_validate(
            {"teams_url": teams.url, "webhook_url": webhook.url, "webhook_secret": WEBHOOK_SECRET}
        )
        service, notifier = build_notifier(
            settings.model_copy(update={"graph_base_url": emulator.graph_url}),
            org,
            config=config or fast_config(org),
            secrets=secrets,
            clock=clock or ManualClock(),
        )
        async with (
            event_log(settings, "sakspost.notice.>") as notices,
            event_log(settings, "sakspost.alert.notice_undeliverable.>") as alerts,
            service.running(),
        ):
            yield Stack(emulator, teams, webhook, notices, alerts, notifier)


async def publish(stages: EventInjector, event: Event) -> None:
    """Publish `event` as the stage that makes it (the router's `routed`, an alert's raiser)."""
    await stages.event(event)


async def test_each_assignee_is_told_once_per_mail_even_when_every_event_comes_twice(
    js: JetStreamContext, injector: EventInjector, settings: Settings, org: Organisation
) -> None:  # R11
    caseworkers = org.departments["bygg"].caseworkers
    count = scaled(30, minimum=6)
    events = [routed(n, caseworkers[n % len(caseworkers)], org) for n in range(count)]
    async with notifier_stack(settings, org) as stack:
        for event in events:
            await publish(injector, event)
        for n in range(count):  # every fact again, as a replay under a new id
            await publish(injector, routed(n, caseworkers[n % len(caseworkers)], org, replay=1))
        await stack.notices.wait_for(matching("assigned"), count, timeout=60)
        # The replays are handled after their originals; wait for the consumer to be drained.
        await drained(js, "notifier-routed")
    for staff_id in caseworkers:
        member = org.staff_member(staff_id)
        expected = sorted(e.case_id for e in events if e.assignee and e.assignee.id == staff_id)
        told = inbox_notices(stack.emulator, member.email)
        assert len(told) == len(expected)
    audits = stack.notices.matching(matching("assigned"))
    assert len(audits) == count
    assert {p["channel"] for _s, p in audits} == {"email"}
    assert all(s.startswith("sakspost.notice.sent.bygg") for s, _p in audits)
    assert stack.teams.received == [] and stack.webhook.received == []


async def test_a_sensitive_mails_notice_warns_and_leaves_the_content_out(
    js: JetStreamContext, injector: EventInjector, settings: Settings, org: Organisation
) -> None:  # R2, R3
    secret_subject = "Barnevernsmelding om 01017012345"
    event = routed(
        1, "kristin.hovland", org, subject=secret_subject,
        sensitive=(SensitiveKind.FODSELSNUMMER, SensitiveKind.BARNEVERN),
    )  # fmt: skip
    async with notifier_stack(settings, org) as stack:
        await publish(injector, event)
        await stack.notices.wait_for(matching("assigned"))
    (mail,) = inbox_notices(stack.emulator, "kristin.hovland@ha.kommune.no")
    text = body_text(mail)
    raw = mail.as_string()
    assert "Åtvaring" in text and "fødselsnummer" in text and "barnevern" in text
    assert "01017012345" not in raw and "Barnevernsmelding" not in raw
    assert mail["Importance"] == "high"
    assert "https://outlook.office.com/mail/deeplink/read/AAMk%2F1%2Bid%3D" in text


async def test_supervisors_get_their_departments_alerts_only_and_a_storm_is_one_message(
    js: JetStreamContext, injector: EventInjector, settings: Settings, org: Organisation
) -> None:  # R10
    storm = 200  # the scenario, at every scale: alerts are cheap
    clock = ManualClock()
    config = fast_config(org, storm_window_seconds=60)
    async with notifier_stack(settings, org, config, clock) as stack:
        for n in range(storm):
            await publish(injector, alert(n, AlertKind.OVERDUE, "bygg"))
        await publish(injector, alert(0, AlertKind.ARCHIVE_FAILED, "teknisk"))
        # The router's own grouping: one alert listing many cases is one message too.
        await publish(injector, alert(0, AlertKind.UNASSIGNED, "it", case_ids=200))
        await drained(js, "notifier-alerts")  # all 202 wait in KV within one window
        assert stack.notices.matching(matching("alert")) == []
        clock.advance(60)
        # The archive failure is told to operations too (issue 17).
        await stack.notices.wait_for(matching("alert"), 4, timeout=30)
        await drained(js, "notifier-alerts")
        await nothing_waiting(js)  # every group went out and left KV
    bygg = inbox_notices(stack.emulator, "ingrid.grodem@ha.kommune.no")
    assert len(bygg) == 1, [(m["Subject"], m["X-Sakspost-Notice"]) for m in bygg]
    assert f"Over fristen: {storm} i Byggjesaksavdelinga" == bygg[0]["Subject"]
    assert all(f"casebygg{n}" in body_text(bygg[0]) for n in range(storm))
    (teknisk,) = inbox_notices(stack.emulator, "rune.bo@ha.kommune.no")
    assert "Arkivering feila" in teknisk["Subject"]
    (it,) = inbox_notices(stack.emulator, "jonas.tjelta@ha.kommune.no")
    assert "Ikkje tildelt: 200" in it["Subject"]
    for member in org.staff:
        if member.id not in {"ingrid.grodem", "rune.bo", "jonas.tjelta"}:
            assert inbox_notices(stack.emulator, member.email) == []
    audits = stack.notices.matching(matching("alert"))
    assert sorted(p["recipient"]["id"] for _s, p in audits) == [
        "ingrid.grodem", "jonas.tjelta", "operations", "rune.bo"
    ]  # fmt: skip


async def test_an_away_supervisors_alerts_go_to_the_deputy(
    js: JetStreamContext, injector: EventInjector, settings: Settings, org: Organisation
) -> None:  # R10
    clock = ManualClock()
    async with notifier_stack(settings, org, clock=clock) as stack:
        async with httpx.AsyncClient(base_url=stack.emulator.graph_url) as graph:
            away = {"automaticRepliesSetting": {"status": "alwaysEnabled"}}
            answer = await graph.patch(
                "/users/ingrid.grodem@ha.kommune.no/mailboxSettings", json=away
            )
            assert answer.status_code == 200
        await publish(injector, alert(1, AlertKind.DELETED, "bygg"))
        await drained(js, "notifier-alerts")
        clock.advance(1)
        ((_s, audit),) = await stack.notices.wait_for(matching("alert"))
    assert audit["recipient"]["id"] == "kristin.hovland"
    assert inbox_notices(stack.emulator, "ingrid.grodem@ha.kommune.no") == []
    assert len(inbox_notices(stack.emulator, "kristin.hovland@ha.kommune.no")) == 1


async def test_failing_email_falls_back_to_a_teams_card_and_raises_an_alert(
    js: JetStreamContext, injector: EventInjector, settings: Settings, org: Organisation
) -> None:
    async with notifier_stack(settings, org) as stack:
        async with httpx.AsyncClient(base_url=stack.emulator.base_url) as admin:
            down = {"serverError": 1.0, "serverErrorStatus": 503}
            mailbox = org.no_reply_address
            assert (await admin.put(f"/_emulator/mailboxes/{mailbox}/faults", json=down)).is_success
        await publish(injector, routed(1, "gerd.skjaerpe", org))
        ((_s, audit),) = await stack.notices.wait_for(matching("assigned"))
        ((_s, undeliverable),) = await stack.alerts.wait_for(lambda _s, p: True)
    assert audit["channel"] == Channel.TEAMS.value
    (post,) = stack.teams.received
    card = json.loads(post.body)["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and "gerd.skjaerpe@ha.kommune.no" in post.body.decode()
    assert undeliverable["kind"] == "notice_undeliverable"
    assert "email" in undeliverable["summary"] and "teams" in undeliverable["summary"]
    assert inbox_notices(stack.emulator, "gerd.skjaerpe@ha.kommune.no") == []


async def test_an_error_the_email_sender_did_not_foresee_falls_back_to_the_next_channel(
    js: JetStreamContext, injector: EventInjector, settings: Settings, org: Organisation
) -> None:  # issue 16, finding 9
    # A line break in the mail's subject (an encoded word decodes to it) reaches the notice's
    # title, which the e-mail's Subject header refuses with a ValueError, not a ChannelFailed.
    subject = "Søknad om løyve\ngnr 12"
    async with notifier_stack(settings, org) as stack:
        await publish(injector, routed(3, "gerd.skjaerpe", org, subject=subject))
        ((_s, audit),) = await stack.notices.wait_for(matching("assigned"))
        ((_s, undeliverable),) = await stack.alerts.wait_for(lambda _s, p: True)
    assert audit["channel"] == Channel.TEAMS.value
    assert len(stack.teams.received) == 1
    assert undeliverable["reason"] == "email: ValueError"
    assert inbox_notices(stack.emulator, "gerd.skjaerpe@ha.kommune.no") == []


async def test_a_department_whose_digest_fails_is_skipped_and_the_others_get_theirs(
    connect_as: Connect, injector: EventInjector, settings: Settings, org: Organisation
) -> None:  # issue 16, deliverable 7
    first, *others = org.departments
    notices_kv = await (await connect_as("notifier")).jetstream().key_value(NOTICES_BUCKET)
    # A digest view no release of the notifier can read: the first department's digest fails.
    await notices_kv.put(f"case.{first}.unreadable", b"not a case view")
    clock = ManualClock()
    async with (
        event_log(settings, "sakspost.alert.skipped.>") as skipped,
        notifier_stack(settings, org, clock=clock) as stack,
    ):
        clock.advance(3 * 3600)  # 05:00 UTC → 09:00 in Oslo, after digest_at 07:30
        # Every other department's digest goes out (one notice per supervisor at least).
        await stack.notices.wait_for(
            lambda s, p: matching("digest")(s, p) and p["department"] == others[-1]
        )
        digests = {p["department"] for _s, p in stack.notices.matching(matching("digest"))}
        ((_s, alert),) = await skipped.wait_for(lambda _s, p: True)
    assert alert["department"] == first
    assert alert["reason"] == f"notifier: digest {first}/2026-11-25: ValidationError"
    assert digests == set(others)


async def test_the_webhook_is_signed_with_the_documented_secret(
    js: JetStreamContext, injector: EventInjector, settings: Settings, org: Organisation
) -> None:
    config = fast_config(org)
    webhook_first = config.defaults.model_copy(
        update={"assigned": config.defaults.assigned.model_copy(
            update={"channel": Channel.WEBHOOK, "fallback": [Channel.EMAIL]})}
    )  # fmt: skip
    async with notifier_stack(
        settings, org, config.model_copy(update={"defaults": webhook_first})
    ) as stack:
        await publish(injector, routed(2, "torbjorn.fotland", org))
        (post,) = await stack.webhook.wait_for(1)
        await stack.notices.wait_for(matching("assigned"))
    assert verify(post.body, WEBHOOK_SECRET, post.headers[SIGNATURE_HEADER.lower()])
    assert not verify(post.body + b" ", WEBHOOK_SECRET, post.headers[SIGNATURE_HEADER.lower()])
    payload = json.loads(post.body)
    assert payload["recipient"]["id"] == "torbjorn.fotland" and payload["kind"] == "assigned"
    assert inbox_notices(stack.emulator, "torbjorn.fotland@ha.kommune.no") == []


async def test_the_daily_digest_reaches_the_supervisors_at_the_configured_hour(
    js: JetStreamContext, injector: EventInjector, settings: Settings, org: Organisation
) -> None:  # R10
    clock = ManualClock()
    async with notifier_stack(settings, org, clock=clock) as stack:
        await publish(injector, routed(1, "kristin.hovland", org))
        await publish(injector, routed(2, None, org))
        await drained(js, "notifier-routed")
        assert stack.notices.matching(matching("digest")) == []
        clock.advance(3 * 3600)  # 05:00 UTC → 09:00 in Oslo, after digest_at 07:30
        await stack.notices.wait_for(
            lambda s, p: matching("digest")(s, p) and p["department"] == "bygg"
        )
    (digest,) = [
        m for m in inbox_notices(stack.emulator, "ingrid.grodem@ha.kommune.no")
        if "Dagleg oversikt" in str(m["Subject"])
    ]  # fmt: skip
    text = body_text(digest)
    assert "Opne saker: 2" in text and "Ikkje tildelte: 1" in text
    assert "Kristin Hovland: 1 opne, 0 over fristen" in text


# Not one of the emulator's mailboxes: its mail is kept as sent outside.
OPERATIONS = "drift@ha.kommune.no"


async def test_a_dead_letter_reaches_the_supervisors_and_operations(
    js: JetStreamContext, injector: EventInjector, settings: Settings, org: Organisation
) -> None:  # issue 17: besides, not instead
    config = fast_config(org, storm_window_seconds=0)
    supervisors = org.departments["bygg"].supervisors
    async with notifier_stack(settings, org, config) as stack:
        await publish(injector, alert(0, AlertKind.DEAD_LETTER, "bygg"))
        audits = await stack.notices.wait_for(matching("alert"), len(supervisors) + 1)
    assert sorted(p["recipient"]["id"] for _s, p in audits) == sorted([*supervisors, "operations"])
    (told,) = outbound_notices(stack.emulator, OPERATIONS)
    assert told["Subject"] == "Kunne ikkje handsamast: 1 i Byggjesaksavdelinga"
    assert "Sakspost varslar drifta om Byggjesaksavdelinga." in body_text(told)
    for staff_id in supervisors:
        assert len(inbox_notices(stack.emulator, org.staff_member(staff_id).email)) == 1


async def test_a_service_that_keeps_restarting_is_told_to_operations_once(
    js: JetStreamContext, injector: EventInjector, settings: Settings, org: Organisation
) -> None:  # issue 17
    base = fast_config(org, storm_window_seconds=0)
    assert base.operations is not None
    operations = base.operations.model_copy(update={"restart_check_seconds": 0.05})
    config = base.model_copy(update={"operations": operations})
    for started in range(1, operations.restart_limit + 1):  # as often as tolerated: no alert
        async with notifier_stack(settings, org, config) as stack:
            await starts_recorded(js, started)
        assert stack.notices.matching(matching("alert")) == []
    async with notifier_stack(settings, org, config) as stack:
        (audit,) = await stack.notices.wait_for(matching("alert"))
        await drained(js, "notifier-alerts")
        await nothing_waiting(js)
    assert audit[1]["about"] == AlertKind.SERVICE_RESTARTING.value
    assert audit[1]["recipient"]["id"] == "operations"
    (told,) = outbound_notices(stack.emulator, OPERATIONS)
    assert "Ei teneste startar om att gong på gong: 1" in told["Subject"]
    assert "notifier" in body_text(told) and "starta 4 gonger på 15 minutt" in body_text(told)
    # The supervisors of the common department are not told about restarts.
    assert stack.notices.matching(matching("alert")) == [audit]
