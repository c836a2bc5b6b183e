"""Issue 20: notifications with resource data through ingest, on the Graph emulator.

The message's properties come encrypted with the notification, so a received mail costs one Graph
read (its MIME); a batch whose validation token is tampered, expired, for another app or signed
with another key is dropped whole and counted `forged`, as is an item whose `dataSignature` was
tampered with, and delta finds that mail anyway (read the old way, as any mail without resource
data). Subscriptions made without resource data are replaced when they are turned on, and again
when their certificate is rotated.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from prometheus_client import REGISTRY

from devtools.graph_emulator import RunningEmulator
from devtools.graph_emulator.emulator import APPLICATION_ID
from devtools.graph_emulator.entra import validation_token
from devtools.graph_emulator.store import Change
from devtools.graph_emulator.subscriptions import Subscription
from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.ingest.config import IngestSettings
from services.ingest.resource_data import EncryptionCertificate
from tests.graph_emulator.certificates import Identity
from tests.graph_emulator.conftest import deliver, raw_mail, wait_until
from tests.ingest.conftest import QUICK, running_ingest, send_many
from tests.support.events import event_log

pytestmark = pytest.mark.integration

POST = "post@ha.kommune.no"
MIME_READ = "GET /v1.0/users/{user}/messages/{message}/$value"
MESSAGE_READ = "GET /v1.0/users/{user}/messages/{message}"


@dataclass(frozen=True)
class Certificate:
    path: Path
    held: EncryptionCertificate


def new_certificate(directory: Path, name: str) -> Certificate:
    identity = Identity.new(name)
    return Certificate(
        identity.pem(directory / f"{name}.pem"),
        EncryptionCertificate(identity.certificate, identity.key),
    )


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return new_certificate(tmp_path, "notifications-2026")


def rich(emulator: RunningEmulator, current: Path, previous: Path | None = None) -> IngestSettings:
    """QUICK with resource data: the emulator (without tokens) names its tenant and app id."""
    return QUICK.model_copy(
        update={
            "encryption_certificate_path": current,
            "encryption_certificate_previous_path": previous,
            "token_tenant_id": emulator.emulator.tenant_id,
            "token_app_id": APPLICATION_ID,
        }
    )


def entra(emulator: RunningEmulator) -> dict[str, Any]:
    """Where ingest finds the emulator's Entra ID (its discovery document, over TLS)."""
    return {"graph_authority": emulator.login_url, "graph_authority_ca_file": emulator.login_ca}


@pytest.fixture
async def with_resource_data(
    settings: Settings, org: Organisation, emulator: RunningEmulator, certificate: Certificate
) -> AsyncIterator[httpx.AsyncClient]:
    ingest = rich(emulator, certificate.path)
    async with running_ingest(settings, org, emulator, ingest, **entra(emulator)) as (_, client):
        yield client


def forged() -> float:
    return REGISTRY.get_sample_value("sakspost_webhook_items_total", {"outcome": "forged"}) or 0


def subscription_of(emulator: RunningEmulator, mailbox: str) -> Subscription:
    (found,) = [
        s for s in emulator.emulator.registry.subscriptions.values() if s.mailbox.address == mailbox
    ]
    return found


def notification_about(emulator: RunningEmulator, message_id: str) -> dict[str, Any]:
    """The very item Graph would send about a new mail in the post mailbox."""
    subscription = subscription_of(emulator, POST)
    mailbox = subscription.mailbox
    message = mailbox.messages[message_id]
    change = Change(mailbox, message.folder, message_id, "created", message.etag)
    item, audience = emulator.emulator.dispatcher.change_notification(subscription, change)
    assert audience == APPLICATION_ID and "encryptedContent" in item
    return item


async def post_batch(client: httpx.AsyncClient, item: dict[str, Any], token: str) -> None:
    answer = await client.post(
        "/graph/notifications", json={"value": [item], "validationTokens": [token]}
    )
    assert answer.status_code == 202, answer.text


def tampered(token: str) -> str:
    header, claims, signature = token.split(".")
    flipped = "A" if signature[0] != "A" else "B"
    return f"{header}.{claims}.{flipped}{signature[1:]}"


async def test_a_received_mail_costs_one_graph_read(
    settings: Settings,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
    with_resource_data: httpx.AsyncClient,
) -> None:
    assert all(s.include_resource_data for s in emulator.emulator.registry.subscriptions.values())
    async with event_log(settings, "sakspost.mail.received.>") as log:
        # The first mail of a mailbox also looks up its folders' ids, once.
        await send_many(emulator.smtp_port, [(POST, raw_mail("forste", to=POST))])
        await log.wait_for(lambda _s, p: p["type"] == "received", 1, 30)
        await admin.delete("/_emulator/requests")
        mails = [(POST, raw_mail(f"ei lesing {n}", to=POST)) for n in range(3)]
        await send_many(emulator.smtp_port, mails)
        received = await log.wait_for(lambda _s, p: p["type"] == "received", 4, 30)
    requests = (await admin.get("/_emulator/requests")).json()
    reads = {k: n for k, n in requests["byRoute"].items() if k.startswith("GET /v1.0/users")}
    reads = {k: n for k, n in reads.items() if "/delta" not in k}
    assert reads == {MIME_READ: 3}
    # The event is what the read path makes of the same message: Graph's facts included.
    event = received[-1][1]
    assert event["graph_message_id"] and event["received_at"] and event["conversation_id"]


async def test_a_tampered_data_signature_is_dropped_and_delta_finds_the_mail(
    settings: Settings,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
    with_resource_data: httpx.AsyncClient,
) -> None:
    faults = f"/_emulator/mailboxes/{POST}/faults"
    await admin.put(faults, json={"dropNotifications": 1.0})
    message_id = await deliver(admin, POST, raw_mail("tukla med", to=POST))
    item = notification_about(emulator, message_id)
    signature = base64.b64decode(item["encryptedContent"]["dataSignature"])
    item["encryptedContent"]["dataSignature"] = base64.b64encode(
        bytes([signature[0] ^ 1]) + signature[1:]
    ).decode()
    before = forged()
    await post_batch(with_resource_data, item, emulator.emulator.validation_token(APPLICATION_ID))
    assert forged() == before + 1
    await admin.delete(faults)
    await admin.delete("/_emulator/requests")
    async with event_log(settings, "sakspost.mail.received.>") as log:
        subscription = subscription_of(emulator, POST)
        missed = await admin.post(
            f"/_emulator/subscriptions/{subscription.id}/lifecycle", json={"event": "missed"}
        )
        assert missed.status_code in (200, 202, 204), missed.text
        ((_, received),) = await log.wait_for(lambda _s, p: p["type"] == "received", 1, 30)
    assert received["graph_message_id"] == message_id
    # Found by delta, without resource data: read the old way, properties and MIME.
    reads = (await admin.get("/_emulator/requests")).json()["byRoute"]
    assert reads[MESSAGE_READ] == 1 and reads[MIME_READ] == 1


async def test_a_batch_with_a_bad_validation_token_is_dropped_whole(
    settings: Settings,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
    with_resource_data: httpx.AsyncClient,
) -> None:
    await admin.put(f"/_emulator/mailboxes/{POST}/faults", json={"dropNotifications": 1.0})
    message_id = await deliver(admin, POST, raw_mail("token", to=POST))
    item = notification_about(emulator, message_id)
    running = emulator.emulator
    key, tenant, authority = running.signing_key, running.tenant_id, running.authority
    good = running.validation_token(APPLICATION_ID)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = jwt.decode(good, options={"verify_signature": False})
    bad = {
        "tampered": tampered(good),
        "expired": validation_token(key, authority, tenant, APPLICATION_ID, time.time() - 7200),
        "another app's": running.validation_token("11111111-2222-4333-8444-555555555555"),
        "another key's": jwt.encode(claims, stranger, "RS256", headers={"kid": key.kid}),
        "unknown key's": jwt.encode(claims, stranger, "RS256", headers={"kid": "nokey"}),
        "not Graph's": key.sign({**claims, "azp": "11111111-2222-4333-8444-555555555555"}),
    }
    for name, token in bad.items():
        before = forged()
        await post_batch(with_resource_data, item, token)
        assert forged() == before + 1, name
    async with event_log(settings, "sakspost.mail.received.>") as log:
        await post_batch(with_resource_data, item, good)
        ((_, received),) = await log.wait_for(lambda _s, p: p["type"] == "received", 1, 30)
    assert received["graph_message_id"] == message_id


async def test_subscriptions_are_replaced_when_resource_data_comes_and_its_certificate_rotates(
    settings: Settings,
    org: Organisation,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
    tmp_path: Path,
    certificate: Certificate,
) -> None:
    registry = emulator.emulator.registry.subscriptions

    async def only_for(certificate_id: str) -> bool:
        """Every mailbox's subscription, and only those, include resource data for it."""
        ids = [s.encryption_certificate_id for s in registry.values()]
        return len(ids) == len(plain) and set(ids) == {certificate_id}

    async with running_ingest(settings, org, emulator):
        assert registry and not any(s.include_resource_data for s in registry.values())
        plain = set(registry)
    async with running_ingest(
        settings, org, emulator, rich(emulator, certificate.path), **entra(emulator)
    ):
        await wait_until(lambda: only_for(certificate.held.id), within=30)
        assert not plain & set(registry)
        first = set(registry)
    rotated = new_certificate(tmp_path, "notifications-2027")
    ingest = rich(emulator, rotated.path, previous=certificate.path)
    async with (
        event_log(settings, "sakspost.mail.received.>") as log,
        running_ingest(settings, org, emulator, ingest, **entra(emulator)),
    ):
        await wait_until(lambda: only_for(rotated.held.id), within=30)
        assert not first & set(registry) and len(registry) == len(plain)
        await send_many(emulator.smtp_port, [(POST, raw_mail("etter bytet", to=POST))])
        await log.wait_for(lambda _s, p: p["type"] == "received", 1, 30)


async def test_subscriptions_with_resource_data_live_a_day_at_most_and_are_renewed_so(
    emulator: RunningEmulator, admin: httpx.AsyncClient, with_resource_data: httpx.AsyncClient
) -> None:
    subscription = subscription_of(emulator, POST)
    now = emulator.emulator.clock.now()
    assert subscription.expires - now <= timedelta(minutes=1440)
    created = subscription.expires
    # Renewed on reauthorizationRequired, within Graph's day (a week's renewal would be refused).
    await admin.post(
        f"/_emulator/subscriptions/{subscription.id}/lifecycle",
        json={"event": "reauthorizationRequired"},
    )

    async def renewed() -> bool:
        return subscription_of(emulator, POST).expires > created

    await wait_until(renewed, within=30)
    assert subscription_of(emulator, POST).id == subscription.id
    assert subscription.expires - emulator.emulator.clock.now() <= timedelta(minutes=1440)


async def test_a_persons_change_to_a_known_mail_is_still_read_and_published(
    settings: Settings,
    emulator: RunningEmulator,
    admin: httpx.AsyncClient,
    with_resource_data: httpx.AsyncClient,
) -> None:
    async with event_log(settings, "sakspost.mail.>") as log:
        await send_many(emulator.smtp_port, [(POST, raw_mail("skal merkast", to=POST))])
        ((_, received),) = await log.wait_for(lambda _s, p: p["type"] == "received", 1, 30)
        message = f"/v1.0/users/{POST}/messages/{received['graph_message_id']}"
        patched = await admin.patch(message, json={"categories": ["Viktig"]})
        assert patched.status_code == 200, patched.text
        ((_, changed),) = await log.wait_for(lambda _s, p: p["type"] == "changed", 1, 30)
    assert changed["case_id"] == received["case_id"] and changed["categories"] == ["Viktig"]
