"""Who a verified token names: a staff member, or an operator's application (issue 19).

Pure: the claims come from a token `bearer.py` has verified. A person is matched by the object id
the organisation file gives them, else by their address (`preferred_username`, which Entra ID sets
to the sign-in name); an application by its client id (`azp`, or v1's `appid`) among the
organisation file's `operators`. Nobody else is anybody: a valid token of the tenant for someone
the organisation file does not know is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from services.common.orgconfig import Organisation

ActorKind = Literal["person", "operator"]


@dataclass(frozen=True)
class Actor:
    """The verified actor of a command: `id` is what case histories record."""

    id: str
    name: str
    kind: ActorKind


class UnknownActor(ValueError):
    """A valid token for someone the organisation file does not name."""


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None


def is_application(claims: Mapping[str, Any]) -> bool:
    """An app-only token (client credentials): Entra ID marks it `idtyp: app`."""
    return _text(claims, "idtyp") == "app"


def claimed_name(claims: Mapping[str, Any]) -> str | None:
    """Who a token says it is, verified or not: for refusal logs, never for a decision."""
    if is_application(claims):
        return _text(claims, "azp") or _text(claims, "appid")
    return _text(claims, "preferred_username") or _text(claims, "upn") or _text(claims, "oid")


def identify(org: Organisation, claims: Mapping[str, Any]) -> Actor:
    """The actor verified `claims` name; raises `UnknownActor`."""
    if is_application(claims):
        app_id = _text(claims, "azp") or _text(claims, "appid")
        for operator in org.operators:
            if app_id is not None and operator.app_id.lower() == app_id.lower():
                return Actor(operator.id, operator.name, "operator")
        raise UnknownActor("application is not an operator")
    address = (_text(claims, "preferred_username") or "").lower()
    member = org.staff_by_email(address) if address else None
    if member is None:
        raise UnknownActor("not on staff")
    if (
        member.object_id is not None
        and member.object_id.lower() != (_text(claims, "oid") or "").lower()
    ):
        raise UnknownActor("object id does not match the staff member's")
    return Actor(member.id, member.name, "person")
