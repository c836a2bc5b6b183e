"""The tenant's users as the emulator's Entra ID knows them: the organisation's staff, and anyone
else a test signs in as (to see Sakspost refuse them).

A person's object id is derived from their address, so every process (the emulator, a test, the
lead's organisation file) names the same person by the same `oid` without asking.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.common.orgconfig import Organisation


@dataclass(frozen=True)
class Person:
    object_id: str
    email: str
    name: str


def object_id_for(email: str) -> str:
    """The emulator's object id (`oid`) of the user with this address."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "sakspost-staff:" + email.lower()))


def staff(org: Organisation) -> list[Person]:
    """The organisation's staff in the order of its file, as the login page lists them."""
    return [Person(object_id_for(member.email), member.email, member.name) for member in org.staff]


def person_for(org: Organisation, email: str) -> Person:
    """The staff member with this address (case-insensitive), else a user of the tenant who is
    not on staff, named by their address."""
    wanted = email.strip()
    for member in staff(org):
        if member.email.lower() == wanted.lower():
            return member
    return Person(object_id_for(wanted), wanted, wanted)
