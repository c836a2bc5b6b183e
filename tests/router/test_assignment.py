"""The assignment policy chain (R8, R9d, R10, R11)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.vocab import AlertKind, AssignmentPolicy, MailClass, Status
from services.common.orgconfig import Organisation, load_organisation
from services.common.standin import supervisors_on_duty
from services.router.assignment import (
    MailFacts,
    Rotation,
    Workload,
    choose_assignee,
    least_loaded,
)

from .builders import CONFIG

NO_LOAD = Workload(open_cases={})


def facts(
    mail_class: MailClass = MailClass.OFFISIELL,
    *,
    confidence: float = 0.95,
    subject: str = "Spørsmål",
    sender: str | None = "innbyggjar@example.invalid",
    topics: tuple[str, ...] = (),
) -> MailFacts:
    return MailFacts(mail_class, confidence, sender, subject, topics, "conv-1")


def test_confident_private_mail_is_closed(org: Organisation) -> None:  # R9d
    decision = choose_assignee(org, "bygg", facts(MailClass.PRIVAT), NO_LOAD, set(), Rotation())
    assert decision.policy is AssignmentPolicy.AUTO_PRIVAT
    assert decision.status is Status.FERDIG
    assert decision.assignee is None


def test_unsure_private_mail_goes_to_a_supervisor(org: Organisation) -> None:  # R9d, R10
    unsure = facts(MailClass.PRIVAT, confidence=0.6)
    decision = choose_assignee(org, "bygg", unsure, NO_LOAD, set(), Rotation())
    assert (decision.assignee, decision.policy) == ("ingrid.grodem", AssignmentPolicy.SUPERVISOR)
    assert decision.alert is AlertKind.CONFIRM_PRIVATE
    away = choose_assignee(org, "bygg", unsure, NO_LOAD, {"ingrid.grodem"}, Rotation())
    assert away.assignee == "kristin.hovland"  # the configured deputy
    nobody = {"ingrid.grodem", "kristin.hovland"}
    alone = choose_assignee(org, "bygg", unsure, NO_LOAD, nobody, Rotation())
    assert alone.assignee is None
    assert alone.alert is AlertKind.CONFIRM_PRIVATE


def test_supervisors_on_duty(org: Organisation) -> None:  # R10
    assert supervisors_on_duty(org, "bygg", set()) == ["ingrid.grodem"]
    assert supervisors_on_duty(org, "bygg", {"ingrid.grodem"}) == ["kristin.hovland"]
    everyone_away = {"ingrid.grodem", "kristin.hovland"}
    assert supervisors_on_duty(org, "bygg", everyone_away) == ["ingrid.grodem"]


def test_reply_goes_to_the_caseworker_of_the_conversation(org: Organisation) -> None:  # R11
    workload = Workload(open_cases={"gerd.skjaerpe": 9}, conversation_assignee="gerd.skjaerpe")
    decision = choose_assignee(org, "bygg", facts(), workload, set(), Rotation())
    assert (decision.assignee, decision.policy) == ("gerd.skjaerpe", AssignmentPolicy.THREAD)
    away = choose_assignee(org, "bygg", facts(), workload, {"gerd.skjaerpe"}, Rotation())
    assert away.policy is AssignmentPolicy.LOAD
    assert away.assignee != "gerd.skjaerpe"


def test_thread_owner_from_another_department_is_not_used(org: Organisation) -> None:  # R8
    workload = Workload(open_cases={}, conversation_assignee="berit.aase")
    decision = choose_assignee(org, "bygg", facts(), workload, set(), Rotation())
    assert decision.policy is AssignmentPolicy.LOAD


def test_rules_name_the_caseworker_or_the_deputy(org: Organisation) -> None:  # R11
    mail = facts(MailClass.ARKIVVERDIG, subject="Søknad om FERDIGATTEST, gnr 12")
    decision = choose_assignee(org, "bygg", mail, NO_LOAD, set(), Rotation())
    assert (decision.assignee, decision.policy) == ("kristin.hovland", AssignmentPolicy.RULE)
    # A keyword is a whole word: "ferdigattestar" is not "ferdigattest".
    plural = facts(MailClass.ARKIVVERDIG, subject="Om ferdigattestar")
    assert choose_assignee(org, "bygg", plural, NO_LOAD, set(), Rotation()).policy is (
        AssignmentPolicy.LOAD
    )
    topic = facts(MailClass.ARKIVVERDIG, topics=("Innsynskrav",))
    assert choose_assignee(org, "stab", topic, NO_LOAD, set(), Rotation()).assignee == (
        "siv.lerbrekk"
    )


def test_load_weighs_capacity_and_rotates_ties(org: Organisation) -> None:  # R11
    # teknisk: marit.grodem and anders.moi (capacity 1), siri.vold (capacity 0.5).
    rotation = Rotation()
    picked = []
    open_cases: dict[str, int] = {}
    for _ in range(10):
        decision = choose_assignee(
            org, "teknisk", facts(), Workload(open_cases=open_cases), set(), rotation
        )
        assert decision.assignee is not None
        picked.append(decision.assignee)
        open_cases[decision.assignee] = open_cases.get(decision.assignee, 0) + 1
        rotation = decision.rotation
    assert picked[:3] == ["marit.grodem", "anders.moi", "siri.vold"]
    assert open_cases == {"marit.grodem": 4, "anders.moi": 4, "siri.vold": 2}


def test_nobody_available_leaves_it_unassigned(org: Organisation) -> None:  # R10, R11
    away = set(org.departments["it"].caseworkers)
    decision = choose_assignee(org, "it", facts(), NO_LOAD, away, Rotation())
    assert decision.assignee is None
    assert decision.policy is AssignmentPolicy.UNASSIGNED
    assert decision.status is Status.NY
    assert decision.alert is AlertKind.UNASSIGNED


# Hypothesis tests cannot take function-scoped fixtures: they load the file once themselves.
ORG = load_organisation(CONFIG)
STAFF = [member.id for member in ORG.staff]


@settings(max_examples=300)
@given(
    department=st.sampled_from(sorted(ORG.departments)),
    away=st.sets(st.sampled_from(STAFF)),
    open_cases=st.dictionaries(st.sampled_from(STAFF), st.integers(0, 30)),
    thread_owner=st.none() | st.sampled_from(STAFF),
    mail_class=st.sampled_from(list(MailClass)),
    confidence=st.floats(0, 1),
    subject=st.sampled_from(["Ferdigattest", "Innsynskrav", "Hei", ""]),
)
def test_never_picks_an_absent_or_foreign_caseworker(
    department: str,
    away: set[str],
    open_cases: dict[str, int],
    thread_owner: str | None,
    mail_class: MailClass,
    confidence: float,
    subject: str,
) -> None:  # R8, R11
    workload = Workload(open_cases=open_cases, conversation_assignee=thread_owner)
    mail = facts(mail_class, confidence=confidence, subject=subject)
    decision = choose_assignee(ORG, department, mail, workload, away, Rotation())
    if decision.assignee is not None:
        assert decision.assignee not in away
        assert ORG.may_be_assigned(department, decision.assignee)
        assert decision.status is Status.TILDELT
    else:
        assert decision.status in {Status.NY, Status.FERDIG}


@given(
    capacities=st.lists(st.sampled_from([0.3, 0.5, 1.0, 1.5, 2.0]), min_size=1, max_size=6),
    rounds=st.integers(1, 60),
)
def test_load_spreads_by_capacity(capacities: list[float], rounds: int) -> None:  # R11
    people = [f"p{i}" for i in range(len(capacities))]
    capacity = dict(zip(people, capacities, strict=True))
    counts = dict.fromkeys(people, 0)
    last: str | None = None
    for _ in range(rounds):
        last = least_loaded(people, capacity, counts, last)
        counts[last] += 1
    cap = {p: Fraction(str(c)) for p, c in capacity.items()}
    for i in people:
        for j in people:
            # Greedy on (open + 1) / capacity: nobody is ahead of anyone by more than one case.
            assert counts[i] / cap[i] <= (counts[j] + 1) / cap[j]
