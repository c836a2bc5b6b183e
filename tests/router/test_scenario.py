"""Fake-clock scenarios across Easter 2026 and 17 May 2027: deadlines, alerts, --overdue (R10)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from schemas.events import Alert
from schemas.vocab import AlertKind, AssignmentPolicy, MailClass
from services.router.context import RouterContext
from services.router.facts import AlertedFact
from services.router.record import CaseRecord
from services.router.transitions import open_case, transition
from services.router.watch import due_alerts, select_cases

from .builders import classified, oslo, received, route


class Watch:
    """The wiring's periodic watch, with the clock handed in: publish, then mark each case."""

    def __init__(self, ctx: RouterContext, cases: Iterable[CaseRecord]) -> None:
        self.ctx = ctx
        self.cases = {case.case_id: case for case in cases}

    def tick(self, now: datetime) -> list[tuple[str, AlertKind, list[str]]]:
        alerts = due_alerts(self.cases.values(), now, self.ctx)
        for alert in alerts:
            for case_id in alert.case_ids:
                fact = AlertedFact(alert.event_id, alert.kind)
                marked = transition(self.cases[case_id], fact, None, self.ctx, now)
                self.cases[case_id] = marked.record
        return [(a.department, a.kind, a.case_ids) for a in alerts]


def test_easter_week(ctx: RouterContext) -> None:  # R10, R11
    innsyn_mail = received(mailbox="stab@ha.kommune.no", message_id="a", at=oslo(2026, 4, 1, 10))
    innsyn = route(ctx, innsyn_mail, classified(innsyn_mail, topics=("innsynskrav",))).record
    assert innsyn.policy is AssignmentPolicy.RULE
    assert innsyn.due_at == oslo(2026, 4, 7, 16)  # Thursday to Monday are not working days

    question_mail = received(message_id="b", at=oslo(2026, 3, 31, 14))
    question = route(ctx, question_mail, classified(question_mail, MailClass.OFFISIELL)).record
    assert question.due_at == oslo(2026, 4, 8, 16)  # 1 April, 7 April, 8 April

    everyone_away = frozenset(ctx.org.departments["it"].caseworkers)
    it_mail = received(mailbox="it@ha.kommune.no", message_id="c", at=oslo(2026, 4, 1, 13))
    it_step = route(ctx, it_mail, classified(it_mail, MailClass.OFFISIELL), away=everyone_away)
    assert it_step.record.assignee is None
    alert = it_step.events[-1]
    assert isinstance(alert, Alert)
    assert (alert.kind, alert.department) == (AlertKind.UNASSIGNED, "it")

    # The classifier never answered for this one: no class, no caseworker.
    stuck_mail = received(
        mailbox="helse@ha.kommune.no", message_id="d", at=oslo(2026, 4, 1, 14, 30)
    )
    stuck = open_case(stuck_mail, "helse")

    watch = Watch(ctx, [innsyn, question, it_step.record, stuck])
    assert watch.tick(oslo(2026, 4, 2, 12)) == []  # Skjærtorsdag
    assert watch.tick(oslo(2026, 4, 4, 12)) == []  # Saturday
    assert watch.tick(oslo(2026, 4, 6, 23)) == []  # Andre påskedag
    assert watch.tick(oslo(2026, 4, 7, 10, 30)) == []  # 1.5 + 2.5 office hours: not yet past
    assert watch.tick(oslo(2026, 4, 7, 10, 31)) == [
        ("helse", AlertKind.UNASSIGNED, [stuck.case_id])
    ]
    assert watch.tick(oslo(2026, 4, 7, 16)) == []  # due at 16:00 is not yet late
    assert watch.tick(oslo(2026, 4, 7, 16, 1)) == [("stab", AlertKind.OVERDUE, [innsyn.case_id])]
    assert watch.tick(oslo(2026, 4, 8, 16, 1)) == [("bygg", AlertKind.OVERDUE, [question.case_id])]
    assert watch.tick(oslo(2026, 4, 9, 9)) == []  # each alert once per case and kind

    overdue = select_cases(watch.cases.values(), oslo(2026, 4, 8, 16, 1), overdue=True)
    assert [case.case_id for case in overdue] == [innsyn.case_id, question.case_id]
    stab_only = select_cases(watch.cases.values(), oslo(2026, 4, 8, 16, 1), department="stab")
    assert [case.case_id for case in stab_only] == [innsyn.case_id]


def test_constitution_day(ctx: RouterContext) -> None:  # R10, R5
    # Friday 14 May 2027 after closing, to post@, moved to stab; Monday 17 May is Grunnlovsdag.
    mail = received(mailbox="post@ha.kommune.no", message_id="e", at=oslo(2027, 5, 14, 17, 30))
    verdict = classified(mail, topics=("innsynskrav",), suggested_department="stab")
    case = route(ctx, mail, verdict).record
    assert case.department == "stab"
    assert case.due_at == oslo(2027, 5, 19, 16)

    watch = Watch(ctx, [case])
    assert watch.tick(oslo(2027, 5, 17, 18)) == []
    assert watch.tick(oslo(2027, 5, 18, 16, 1)) == []
    assert watch.tick(oslo(2027, 5, 19, 16, 1)) == [("stab", AlertKind.OVERDUE, [case.case_id])]


def test_grouped_alert_ids_are_stable(ctx: RouterContext) -> None:
    cases = []
    for name in ("f", "g"):
        mail = received(message_id=name, at=oslo(2026, 3, 2, 9))
        cases.append(route(ctx, mail, classified(mail, MailClass.OFFISIELL)).record)
    now = oslo(2026, 3, 20, 9)
    first = due_alerts(cases, now, ctx)
    assert due_alerts(list(reversed(cases)), now, ctx) == first
    (alert,) = first
    assert alert.case_ids == sorted(c.case_id for c in cases)
    assert alert.nats_subject() == "sakspost.alert.overdue.bygg"
