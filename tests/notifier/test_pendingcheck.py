"""When the background loop reads the waiting alerts again (issue #20): never later than the
alerts taken in, a window's close, a failed group's retry or the rescan call for it."""

from __future__ import annotations

from datetime import timedelta

from schemas.vocab import AlertKind
from services.notifier.kvstore import PendingAlert
from services.notifier.pendingcheck import RESCAN, PendingCheck
from tests.notifier.support import NOW, alert

WINDOW = timedelta(seconds=60)
SECOND = timedelta(seconds=1)


def waiting(after: timedelta) -> PendingAlert:
    return PendingAlert("k", NOW + after, alert(0, AlertKind.OVERDUE, "bygg"))


def test_a_new_process_reads_at_once_and_an_idle_one_only_to_rescan() -> None:
    check = PendingCheck(WINDOW)
    assert check.due(NOW)
    check.read(check.begin(), [], any_due=False, now=NOW)
    assert not check.due(NOW + RESCAN - SECOND)
    assert check.due(NOW + RESCAN)


def test_an_alert_taken_in_is_read_next_tick_even_when_taken_in_during_a_read() -> None:
    check = PendingCheck(WINDOW)
    check.read(check.begin(), [], any_due=False, now=NOW)
    check.changed()
    assert check.due(NOW)
    begun = check.begin()
    check.changed()  # arrived while the read was under way: the read may not have seen it
    check.read(begun, [], any_due=False, now=NOW)
    assert check.due(NOW)
    check.read(check.begin(), [], any_due=False, now=NOW)
    assert not check.due(NOW)


def test_a_known_group_is_read_again_when_its_window_closes() -> None:
    check = PendingCheck(WINDOW)
    check.read(check.begin(), [waiting(10 * SECOND)], any_due=False, now=NOW + 20 * SECOND)
    assert not check.due(NOW + 10 * SECOND + WINDOW - SECOND)
    assert check.due(NOW + 10 * SECOND + WINDOW)


def test_after_a_due_group_the_next_tick_reads_again() -> None:
    """What went out has left KV; what failed is still there and is retried every tick."""
    check = PendingCheck(WINDOW)
    check.read(check.begin(), [waiting(0 * SECOND)], any_due=True, now=NOW + WINDOW)
    assert check.due(NOW + WINDOW)
