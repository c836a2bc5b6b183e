"""The follow-up flag's status on an Outlook message, as Graph names it."""

from __future__ import annotations

from typing import Literal, get_args

FlagStatus = Literal["notFlagged", "flagged", "complete"]
FLAG_STATUSES: tuple[FlagStatus, ...] = get_args(FlagStatus)


def parse_flag_status(value: object) -> FlagStatus | None:
    """A flag status from Graph (a string, or the SDK's enum); None when it is not one we know."""
    text = getattr(value, "value", value)
    return next((known for known in FLAG_STATUSES if known == text), None)
