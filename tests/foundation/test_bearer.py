"""Issue 19, the pure parts of who may run a command: a token's checks (signature, issuer,
audience, expiry), who it names in the organisation file, and what they may do."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
import pytest

from devtools.graph_emulator.entra import SigningKey, issuer
from services.common.actors import Actor
from services.common.bearer import BearerVerifier, Unauthenticated, bearer_of, check_bearer
from services.common.orgconfig import Operator, Organisation
from services.common.rights import (
    Action,
    may,
    may_decide_personal,
    may_record_consent,
    visible_departments,
)

TENANT = "7f1c0d2e-0000-4000-8000-000000000001"
CLIENT = "6f1c0d2e-0000-4000-8000-5a6b5e0a0001"
OPERATOR_APP = "11111111-2222-4333-8444-555555555555"
AUTHORITY = "https://login.example"
ISSUERS = (issuer(AUTHORITY, TENANT),)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.load_or_create(None)


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    return SigningKey.load_or_create(None)


def person(email: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUERS[0],
        "aud": CLIENT,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "tid": TENANT,
        "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, "sakspost-staff:" + email)),
        "preferred_username": email,
        "name": email.split("@")[0],
        "ver": "2.0",
    }
    claims.update(changes)
    return claims


class Keys:
    """The tenant's published keys, as `TenantKeys` would have fetched them."""

    def __init__(self, *published: SigningKey) -> None:
        self._keys = {k.kid: k.jwks()["keys"][0] for k in published}

    async def keys_for(self, tokens: Sequence[str]) -> tuple[Mapping[str, Any], Sequence[str]]:
        return {kid: jwt.PyJWK(jwk).key for kid, jwk in self._keys.items()}, ISSUERS


@pytest.fixture
def with_operator(org: Organisation) -> Organisation:
    return org.model_copy(
        update={"operators": [Operator(id="drift", name="Drift", app_id=OPERATOR_APP)]}
    )


async def test_a_tenant_token_for_a_staff_member_names_them(
    key: SigningKey, org: Organisation
) -> None:
    verifier = BearerVerifier(Keys(key), CLIENT, org)
    actor = await verifier.verify(key.sign(person("rune.bo@ha.kommune.no")))
    assert actor == Actor("rune.bo", "Rune Bø", "person")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": int(time.time()) - 600}, "expired"),
        ({"aud": "someone-else"}, "wrong_audience"),
        ({"iss": "https://login.example/other/v2.0"}, "wrong_issuer"),
        ({"nbf": int(time.time()) + 3600}, "not_yet_valid"),
        ({"preferred_username": "stranger@example.org"}, "unknown_actor"),
    ],
)
async def test_a_token_that_proves_nothing_is_refused_with_the_claimed_actor(
    key: SigningKey, org: Organisation, changes: dict[str, Any], reason: str
) -> None:
    verifier = BearerVerifier(Keys(key), CLIENT, org)
    claims = person("rune.bo@ha.kommune.no", **changes)
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(key.sign(claims))
    assert refused.value.reason == reason
    assert refused.value.claimed == claims["preferred_username"]


async def test_a_token_signed_by_another_key_is_refused(
    key: SigningKey, other_key: SigningKey, org: Organisation
) -> None:
    verifier = BearerVerifier(Keys(key), CLIENT, org)
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(other_key.sign(person("rune.bo@ha.kommune.no")))
    assert (refused.value.reason, refused.value.claimed) == ("unknown_key", "rune.bo@ha.kommune.no")
    forged = other_key.sign(person("rune.bo@ha.kommune.no"))
    _, body, signature = forged.split(".")
    genuine_header = key.sign(person("rune.bo@ha.kommune.no")).split(".")[0]
    with pytest.raises(Unauthenticated) as refused:
        check_bearer(f"{genuine_header}.{body}.{signature}", *await Keys(key).keys_for([]), CLIENT)
    assert refused.value.reason == "bad_signature"


@pytest.mark.parametrize("token", [None, "", "not.a.jwt", "x" * 20_000])
async def test_no_token_or_junk_is_refused(
    key: SigningKey, org: Organisation, token: str | None
) -> None:
    verifier = BearerVerifier(Keys(key), CLIENT, org)
    with pytest.raises(Unauthenticated):
        await verifier.verify(token or None)


async def test_an_object_id_in_the_organisation_file_must_match(
    key: SigningKey, org: Organisation
) -> None:
    staff = [
        m.model_copy(update={"object_id": "aaaaaaaa-0000-4000-8000-000000000000"})
        if m.id == "rune.bo"
        else m
        for m in org.staff
    ]
    pinned = org.model_copy(update={"staff": staff})
    verifier = BearerVerifier(Keys(key), CLIENT, pinned)
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(key.sign(person("rune.bo@ha.kommune.no")))
    assert refused.value.reason == "unknown_actor"
    matching = person("rune.bo@ha.kommune.no", oid="AAAAAAAA-0000-4000-8000-000000000000")
    assert (await verifier.verify(key.sign(matching))).id == "rune.bo"


async def test_an_operators_application_is_the_operator_and_no_other_app_is_anyone(
    key: SigningKey, with_operator: Organisation
) -> None:
    verifier = BearerVerifier(Keys(key), CLIENT, with_operator)
    app = {
        "iss": ISSUERS[0],
        "aud": CLIENT,
        "exp": int(time.time()) + 3600,
        "idtyp": "app",
        "azp": OPERATOR_APP,
        "appid": OPERATOR_APP,
        "oid": "sp-1",
    }
    assert await verifier.verify(key.sign(app)) == Actor("drift", "Drift", "operator")
    # An app token cannot pass for a person by carrying a staff member's address.
    stranger = {**app, "azp": "99999999-0000-4000-8000-000000000000", "appid": None}
    stranger["preferred_username"] = "rune.bo@ha.kommune.no"
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(key.sign(stranger))
    assert refused.value.claimed == "99999999-0000-4000-8000-000000000000"


def test_the_header_is_read_in_any_case() -> None:
    assert bearer_of({"authorization": "bearer abc.def.ghi"}) == "abc.def.ghi"
    assert bearer_of({"Authorization": "Basic abc"}) is None
    assert bearer_of({"Authorization": "Bearer "}) is None
    assert bearer_of(None) is None


def test_supervisors_their_deputies_caseworkers_and_operators(org: Organisation) -> None:
    supervisor = Actor("rune.bo", "Rune Bø", "person")
    deputy = Actor("marit.grodem", "Marit Grødem", "person")
    caseworker = Actor("anders.moi", "Anders Moi", "person")
    operator = Actor("drift", "Drift", "operator")
    department = next(k for k, d in org.departments.items() if "rune.bo" in d.supervisors)
    other = next(
        k
        for k, d in org.departments.items()
        if "rune.bo" not in d.supervisors
        and "marit.grodem"
        not in d.supervisors + [org.staff_member(s).deputy or "" for s in d.supervisors]
    )
    assert may(org, supervisor, Action.ASSIGN, department, None)
    assert may(org, deputy, Action.CONFIRM_PRIVATE, department, "anders.moi")
    assert not may(org, supervisor, Action.VIEW, other, None)
    assert may(org, caseworker, Action.DONE, department, "anders.moi")
    assert not may(org, caseworker, Action.DONE, department, "siri.vold")
    assert not may(org, caseworker, Action.CONFIRM_PRIVATE, department, "anders.moi")
    assert not may(org, caseworker, Action.REPORT, department, "anders.moi")
    assert may(org, operator, Action.RETRY_ARCHIVE, other, None)
    assert visible_departments(org, supervisor)[0] == department
    assert other not in visible_departments(org, supervisor) or other == org.common_department
    assert may_decide_personal(caseworker, "anders.moi")
    assert not may_decide_personal(supervisor, "anders.moi")
    assert not may_decide_personal(operator, "drift")


def test_an_offboarding_consent_is_recorded_by_the_owner_their_leader_or_operations(
    org: Organisation,
) -> None:
    owner = "kristian.eik"
    leader = next(d.supervisors[0] for d in org.departments.values() if owner in d.caseworkers)
    colleague = "hilde.sorbo"  # a caseworker beside the owner, no deputy of the leader
    assert may_record_consent(org, Actor(owner, "", "person"), owner)
    assert may_record_consent(org, Actor(leader, "", "person"), owner)
    assert may_record_consent(org, Actor("drift", "", "operator"), owner)
    assert not may_record_consent(org, Actor(colleague, "", "person"), owner)
