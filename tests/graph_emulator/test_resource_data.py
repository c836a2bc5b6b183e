"""Subscriptions with resource data, as Graph makes them (issue 20): the rules at creation, the
message's `$select` encrypted for the subscription's certificate, and validation tokens signed by
the emulator's Entra ID key, published through its OpenID discovery document and JWKS. Opened and
checked with ingest's own code, so the two agree on Graph's algorithm."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from kiota_abstractions.api_error import APIError
from msgraph.generated.models.subscription import Subscription
from msgraph.graph_service_client import GraphServiceClient

from devtools.graph_emulator import RunningEmulator, run_emulator
from devtools.graph_emulator.emulator import APPLICATION_ID
from services.common.orgconfig import Organisation
from services.common.tenantkeys import TenantKeys
from services.ingest.resource_data import EncryptionCertificate, open_resource_data
from services.ingest.snapshot import MESSAGE_FIELDS, snapshot_of_resource
from services.ingest.validation_tokens import check_tokens
from tests.graph_emulator.certificates import Identity
from tests.graph_emulator.conftest import FAST, SHARED, Listener, deliver, next_item, raw_mail

SECRET = "hemmeleg-klientstatus"


@pytest.fixture(scope="module")
def certificate() -> EncryptionCertificate:
    identity = Identity.new("sakspost notifications")
    return EncryptionCertificate(identity.certificate, identity.key)


def rich(
    listener: Listener,
    certificate: EncryptionCertificate | None,
    *,
    minutes: int = 1380,
    select: bool = True,
) -> Subscription:
    resource = f"users/{SHARED}/messages"
    request = Subscription(
        change_type="created,updated,deleted",
        notification_url=f"{listener.url}/notify",
        lifecycle_notification_url=f"{listener.url}/lifecycle",
        resource=f"{resource}?$select={','.join(MESSAGE_FIELDS)}" if select else resource,
        expiration_date_time=datetime.now(UTC) + timedelta(minutes=minutes),
        client_state=SECRET,
        include_resource_data=True,
    )
    if certificate is not None:
        request.encryption_certificate = certificate.encoded()
        request.encryption_certificate_id = certificate.id
    return request


@pytest.mark.parametrize(
    ("with_certificate", "minutes", "select"),
    [(False, 1380, True), (True, 1441, True), (True, 1380, False)],
    ids=["no certificate", "over a day", "no $select"],
)
async def test_graph_refuses_resource_data_without_its_conditions(
    graph: GraphServiceClient,
    listener: Listener,
    certificate: EncryptionCertificate,
    with_certificate: bool,
    minutes: int,
    select: bool,
) -> None:
    request = rich(listener, certificate if with_certificate else None, minutes=minutes)
    if not select:
        request = rich(listener, certificate, select=False)
    with pytest.raises(APIError) as refused:
        await graph.subscriptions.post(request)
    assert refused.value.response_status_code == 400
    assert (await graph.subscriptions.get()).value == []


async def test_a_renewal_past_a_day_is_refused(
    graph: GraphServiceClient, listener: Listener, certificate: EncryptionCertificate
) -> None:
    created = await graph.subscriptions.post(rich(listener, certificate))
    assert created is not None and created.include_resource_data
    with pytest.raises(APIError) as refused:
        await graph.subscriptions.by_subscription_id(created.id).patch(
            Subscription(expiration_date_time=datetime.now(UTC) + timedelta(minutes=1500))
        )
    assert refused.value.response_status_code == 400


async def test_notifications_carry_the_selected_message_encrypted_and_signed_tokens(
    graph: GraphServiceClient,
    admin: httpx.AsyncClient,
    listener: Listener,
    emulator: RunningEmulator,
    certificate: EncryptionCertificate,
) -> None:
    created = await graph.subscriptions.post(rich(listener, certificate))
    assert created is not None
    message_id = await deliver(admin, SHARED, raw_mail("med innhald"))
    item = await next_item(listener.notifications)
    content = item["encryptedContent"]
    assert content["encryptionCertificateId"] == certificate.id
    resource = open_resource_data(
        content["data"],
        content["dataKey"],
        content["dataSignature"],
        content["encryptionCertificateId"],
        {certificate.id: certificate},
    )
    assert "Body" not in resource and "Subject" not in resource  # only the $select
    carried = snapshot_of_resource(resource, message_id)
    read = await graph.users.by_user_id(SHARED).messages.by_message_id(message_id).get()
    assert read is not None and read.flag is not None and read.flag.flag_status is not None
    assert carried.change_key == read.change_key
    assert carried.internet_message_id == read.internet_message_id
    assert carried.received_at == read.received_date_time
    assert carried.parent_folder_id == read.parent_folder_id
    assert carried.flag_status == read.flag.flag_status.value
    # The batch's token is the emulator's Entra ID's, found through its discovery document.
    tokens = listener.tokens
    assert len(tokens) == 1
    keys = TenantKeys(emulator.login_url, emulator.emulator.tenant_id, emulator.login_ca)
    await check_tokens(keys, tokens, APPLICATION_ID)


async def test_the_signing_key_and_its_documents_survive_a_restart(
    org: Organisation, tmp_path: Path
) -> None:
    kids = []
    for _ in range(2):
        async with run_emulator(org, timings=FAST, data_dir=tmp_path) as running:
            tenant = running.emulator.tenant_id
            context = ssl.create_default_context(cafile=str(running.login_ca))
            async with httpx.AsyncClient(base_url=running.login_url, verify=context) as http:
                document = (
                    await http.get(f"/{org.domain}/v2.0/.well-known/openid-configuration")
                ).json()
                assert document["issuer"] == f"{running.login_url}/{tenant}/v2.0"
                jwks = (await http.get(document["jwks_uri"])).json()
                assert (await http.get("/other-tenant/discovery/v2.0/keys")).status_code == 400
        kids.append([key["kid"] for key in jwks["keys"]])
    assert kids[0] == kids[1] and len(kids[0]) == 1
