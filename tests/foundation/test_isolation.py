"""The isolation of a loop's items (`services/common/isolation.py`): a bad item is skipped and
alerted once, a transient failure is left for the next round without an alert, and the loop goes
on either way."""

from __future__ import annotations

import pytest

from schemas.events import Alert
from services.common.errors import TransientError
from services.common.isolation import Isolation, item_key


class Published:
    def __init__(self, failing: bool = False) -> None:
        self.alerts: list[Alert] = []
        self.failing = failing

    async def __call__(self, alert: Alert) -> None:
        if self.failing:
            raise ConnectionError("NATS away")
        self.alerts.append(alert)


async def _tick(isolation: Isolation, items: dict[str, BaseException | None]) -> list[str]:
    """One round over `items` (an error to raise, or None); the items done."""
    done: list[str] = []
    for item, error in items.items():

        async def work(item: str = item, error: BaseException | None = error) -> None:
            if error is not None:
                raise error
            done.append(item)

        await isolation.run(item, work)
    return done


async def test_a_bad_item_is_skipped_and_alerted_once_however_many_ticks_meet_it() -> None:
    published = Published()
    isolation = Isolation("test loop", "post", published)
    items: dict[str, BaseException | None] = {"a": None, "b": ValueError("bad\nsubject"), "c": None}
    for _ in range(3):
        assert await _tick(isolation, items) == ["a", "c"]
    (alert,) = published.alerts
    assert alert.kind.value == "skipped" and alert.department == "post"
    assert alert.reason == "test loop: b: ValueError"  # the type, never the error's text
    assert alert.case_id is None


async def test_a_new_error_of_the_same_item_is_alerted_again() -> None:
    published = Published()
    isolation = Isolation("test loop", "post", published)
    await _tick(isolation, {"b": ValueError()})
    await _tick(isolation, {"b": KeyError()})
    assert [a.reason for a in published.alerts] == [
        "test loop: b: ValueError",
        "test loop: b: KeyError",
    ]


async def test_a_transient_failure_is_left_for_the_next_round_without_an_alert() -> None:
    published = Published()
    isolation = Isolation("test loop", "post", published)
    assert await _tick(isolation, {"a": TransientError("Graph busy"), "b": None}) == ["b"]
    assert published.alerts == []


async def test_errors_named_to_propagate_reach_the_loop() -> None:
    isolation = Isolation("test loop", "post", Published())

    async def throttled() -> None:
        raise TransientError("Graph busy")

    with pytest.raises(TransientError):
        await isolation.run("a", throttled, propagate=(TransientError,))


async def test_an_alert_that_could_not_be_published_is_tried_again_next_time() -> None:
    published = Published(failing=True)
    isolation = Isolation("test loop", "post", published)
    await _tick(isolation, {"b": ValueError()})
    published.failing = False
    await _tick(isolation, {"b": ValueError()})
    await _tick(isolation, {"b": ValueError()})
    assert len(published.alerts) == 1


async def test_the_same_item_and_error_give_the_same_event_id_across_processes() -> None:
    first, second = Published(), Published()
    await _tick(Isolation("test loop", "post", first), {"b": ValueError()})
    await _tick(Isolation("test loop", "post", second), {"b": ValueError()})
    assert first.alerts[0].event_id == second.alerts[0].event_id


def test_an_item_key_says_nothing_about_the_item() -> None:
    key = item_key("AAMkAGI2TG93AAA=")
    assert len(key) == 16 and "AAMk" not in key
    assert key == item_key("AAMkAGI2TG93AAA=")
