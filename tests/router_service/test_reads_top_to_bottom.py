"""One `classified` event walked through the router, recording which of its modules are entered in
which order (issue 14: "the router reads top to bottom").

Every function and method the router's modules define is wrapped, for the length of the test, by a
recorder that notes each call from one module into another. The walk must pass each stage once, in
the order `flow.py` documents, and every call must go down the modules' layers: nothing calls back
into a module that is still on the stack (no `decide` closure, no replan round trip).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

import services.router
from schemas.events import MailClassified
from schemas.identity import make_event_id
from schemas.vocab import MailClass
from services.common.away import AwayCheck
from services.common.orgconfig import Organisation
from services.common.publisher import EventPublisher
from services.common.settings import Settings
from services.router.app import RouterHolder, build
from tests.support.events import event_log

from .conftest import QUIET
from .support import WAIT_SECONDS, FakeClock, Mailroom, mail

BYGG = "bygg@ha.kommune.no"
# The router's modules from top to bottom: a call may only go to a module further down.
LAYERS = (
    "test",
    "flow",
    "migration",
    "planner",
    "outlook_sync",
    "transitions",
    "plan",
    "outlook",
    "routing",
    "assignment",
    "sla",
    "calendar",
    "graph_io",
    "away",
    "store",
    "workboard",
    "cas",
    "context",
    "facts",
    "record",
    "publisher",
)
# What the flow itself calls for a `classified` event of a case opened a moment ago, in order.
FLOW_STEPS = [
    ("cas", "retrying"),  # compare-and-set, redone from here when lost:
    ("store", "CaseStore.load"),  # 1. the record
    ("planner", "Planner.plan"),  # 2. the plan, before any write
    ("transitions", "transition"),  # 3. the new record and its events, pure
    ("workboard", "Workboard.claimed"),  # 4. claim the assignment on the board planned on,
    ("store", "CaseStore.save_workboard"),
    ("store", "CaseStore.save"),  # ...then save the record with its events in the outbox
    ("publisher", "EventPublisher.publish"),  # 5. publish `routed`
    ("store", "CaseStore.save"),  # ...and empty the outbox
    # 6. no workboard to bring in line: the case stayed in bygg, whose board the claim wrote
    ("outlook_sync", "OutlookSync.write_back"),  # 7. Outlook
]


@dataclass
class Walk:
    """Calls from one module into another: (caller, callee, function), of the calls the test
    makes (the stack starts with `test`), not of the service's own tasks."""

    crossings: list[tuple[str, str, str]] = field(default_factory=list)
    stack: ContextVar[tuple[str, ...]] = field(
        default_factory=lambda: ContextVar("modules", default=())
    )

    def enter(self, module: str, name: str) -> Any:
        stack = self.stack.get()
        if stack[:1] == ("test",) and stack[-1] != module:
            assert module not in stack, f"{module}.{name} called back from {' → '.join(stack)}"
            self.crossings.append((stack[-1], module, name))
        return self.stack.set((*stack, module))

    def wrap(self, module: str, function: Callable[..., Any]) -> Callable[..., Any]:
        name = function.__qualname__
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def entered_async(*args: Any, **kwargs: Any) -> Any:
                token = self.enter(module, name)
                try:
                    return await function(*args, **kwargs)
                finally:
                    self.stack.reset(token)

            return entered_async

        @functools.wraps(function)
        def entered(*args: Any, **kwargs: Any) -> Any:
            token = self.enter(module, name)
            try:
                return function(*args, **kwargs)
            finally:
                self.stack.reset(token)

        return entered

    def from_flow(self) -> list[tuple[str, str]]:
        return [(callee, name) for caller, callee, name in self.crossings if caller == "flow"]


def _router_modules() -> Iterator[tuple[str, ModuleType]]:
    for info in pkgutil.iter_modules(services.router.__path__):
        if info.name not in ("app", "__main__"):
            yield info.name, importlib.import_module(f"services.router.{info.name}")


def _instrument(walk: Walk, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrap what every router module defines, where it is defined and wherever it is imported."""
    modules = dict(_router_modules())
    wrapped: dict[int, Callable[..., Any]] = {}
    for short, module in modules.items():
        for value in list(vars(module).values()):
            if getattr(value, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(value):
                wrapped[id(value)] = walk.wrap(short, value)
            elif inspect.isclass(value):
                for attribute, member in list(vars(value).items()):
                    if inspect.isfunction(member) and not attribute.startswith("__"):
                        monkeypatch.setattr(value, attribute, walk.wrap(short, member))
    for module in modules.values():
        for name, value in list(vars(module).items()):
            if id(value) in wrapped:
                monkeypatch.setattr(module, name, wrapped[id(value)])
    # Two shared pieces the router calls, to see them in the walk too.
    monkeypatch.setattr(EventPublisher, "publish", walk.wrap("publisher", EventPublisher.publish))
    monkeypatch.setattr(AwayCheck, "away", walk.wrap("away", AwayCheck.away))


async def test_a_classified_event_passes_each_module_once_in_one_direction(
    router_env: Settings,
    org: Organisation,
    clock: FakeClock,
    mailroom: Mailroom,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    holder = RouterHolder()
    router = build(router_env, org, clock=clock, router_settings=QUIET, holder=holder)
    walk = Walk()
    _instrument(walk, monkeypatch)
    async with event_log(settings) as log, router.running():
        received = await mailroom.receive(
            BYGG, mail("Byggesøknad", to=BYGG, message_id="walk@x.org")
        )
        flow = holder.ready().flow
        for _ in range(int(WAIT_SECONDS * 10)):  # until the case is opened and on the board
            board, _ = await flow.store.load_workboard("bygg")
            if received.case_id in board.open_cases:
                break
            await asyncio.sleep(0.1)
        classified = MailClassified(
            event_id=make_event_id("classified", received.case_id, "walk"),
            case_id=received.case_id,
            occurred_at=received.received_at,
            department=received.department,
            mail_class=MailClass.OFFISIELL,
            confidence=0.95,
        )
        token = walk.stack.set(("test",))
        try:
            await flow.handle(classified)
        finally:
            walk.stack.reset(token)
        ((_, routed),) = await log.wait_for_case(received.case_id, "routed")
    assert routed["assignee"] is not None

    assert walk.crossings[0] == ("test", "flow", "CaseFlow.handle")
    # The flow's steps, top to bottom, each once.
    assert walk.from_flow() == FLOW_STEPS
    # Every call goes down the layers: no module calls back into one above it.
    for caller, callee, name in walk.crossings:
        assert LAYERS.index(caller) < LAYERS.index(callee), f"{caller} → {callee}.{name}"
    # The logic is entered once each: the plan, the transition, the write-back.
    entered = [callee for _, callee, _ in walk.crossings]
    for stage in ("planner", "transitions", "outlook_sync"):
        assert entered.count(stage) == 1, stage
    # The department is decided once per fact, the plan made once.
    names = [name for _, _, name in walk.crossings]
    assert (names.count("route_department"), names.count("plan_case")) == (1, 1)
