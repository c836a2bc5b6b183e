"""sendMail, forward and createForward through msgraph-sdk, and mailbox settings (R9c, R11)."""

from __future__ import annotations

import httpx
import pytest
from kiota_abstractions.api_error import APIError
from msgraph.generated.models.automatic_replies_setting import AutomaticRepliesSetting
from msgraph.generated.models.automatic_replies_status import AutomaticRepliesStatus
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.mailbox_settings import MailboxSettings
from msgraph.generated.models.message import Message
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.users.item.messages.item.create_forward.create_forward_post_request_body import (  # noqa: E501
    CreateForwardPostRequestBody,
)
from msgraph.generated.users.item.messages.item.forward.forward_post_request_body import (
    ForwardPostRequestBody,
)
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import (
    SendMailPostRequestBody,
)
from msgraph.graph_service_client import GraphServiceClient

from devtools.graph_emulator import RunningEmulator
from services.common.graph import get_mime, make_graph_client
from tests.graph_emulator.conftest import PERSONAL, SHARED, deliver, raw_mail

NO_REPLY = "sakspost-varsel@ha.kommune.no"


def to(address: str) -> Recipient:
    return Recipient(email_address=EmailAddress(address=address))


async def test_send_mail_delivers_locally_keeps_a_sent_copy_and_logs_external_mail(
    emulator: RunningEmulator, admin: httpx.AsyncClient
) -> None:  # R11
    sender = make_graph_client(emulator.graph_url, retries=False)  # sendMail is not idempotent
    body = SendMailPostRequestBody(
        message=Message(
            subject="Ny sak tildelt deg",
            body=ItemBody(content_type=BodyType.Text, content="Sjå Sakspost."),
            to_recipients=[to(PERSONAL), to("innbyggjar@example.org")],
        ),
        save_to_sent_items=True,
    )
    await sender.users.by_user_id(NO_REPLY).send_mail.post(body)
    inbox = (
        await sender.users.by_user_id(PERSONAL)
        .mail_folders.by_mail_folder_id("inbox")
        .messages.get()
    )
    assert [m.subject for m in inbox.value] == ["Ny sak tildelt deg"]
    assert inbox.value[0].from_.email_address.address == NO_REPLY
    sent = (
        await sender.users.by_user_id(NO_REPLY)
        .mail_folders.by_mail_folder_id("sentitems")
        .messages.get()
    )
    assert [m.internet_message_id for m in sent.value] == [inbox.value[0].internet_message_id]
    outbound = (await admin.get("/_emulator/outbound")).json()["value"]
    assert [o["recipients"] for o in outbound] == [["innbyggjar@example.org"]]


async def test_send_mail_without_recipients_is_refused(graph: GraphServiceClient) -> None:
    with pytest.raises(APIError) as refused:
        await graph.users.by_user_id(NO_REPLY).send_mail.post(
            SendMailPostRequestBody(message=Message(subject="til ingen"))
        )
    assert refused.value.response_status_code == 400


async def test_forward_moves_personal_mail_to_sakspost(
    graph: GraphServiceClient, admin: httpx.AsyncClient
) -> None:  # R9c
    original = await deliver(admin, PERSONAL, raw_mail("feilsendt søknad", to=PERSONAL))
    await (
        graph.users.by_user_id(PERSONAL)
        .messages.by_message_id(original)
        .forward.post(
            ForwardPostRequestBody(comment="Til rett postmottak.", to_recipients=[to(SHARED)])
        )
    )
    inbox = await graph.users.by_user_id(SHARED).messages.get()
    assert [m.subject for m in inbox.value] == ["FW: feilsendt søknad"]
    mime = await get_mime(graph, SHARED, inbox.value[0].id)
    assert b"Til rett postmottak." in mime and b"kari@example.org" in mime
    sent = (
        await graph.users.by_user_id(PERSONAL)
        .mail_folders.by_mail_folder_id("sentitems")
        .messages.get()
    )
    assert len(sent.value) == 1


async def test_create_forward_gives_a_draft_that_send_delivers(
    graph: GraphServiceClient, admin: httpx.AsyncClient
) -> None:  # R9c
    original = await deliver(admin, PERSONAL, raw_mail("utkast", to=PERSONAL))
    messages = graph.users.by_user_id(PERSONAL).messages
    draft = await messages.by_message_id(original).create_forward.post(
        CreateForwardPostRequestBody(comment="Sjå denne.")
    )
    assert draft.is_draft is True and draft.subject == "FW: utkast"
    await messages.by_message_id(draft.id).patch(Message(to_recipients=[to(SHARED)]))
    await messages.by_message_id(draft.id).send.post()
    inbox = await graph.users.by_user_id(SHARED).messages.get()
    assert [m.subject for m in inbox.value] == ["FW: utkast"]
    drafts = (
        await graph.users.by_user_id(PERSONAL)
        .mail_folders.by_mail_folder_id("drafts")
        .messages.get()
    )
    assert drafts.value == []


async def test_mailbox_settings_automatic_replies_get_and_patch(
    graph: GraphServiceClient, admin: httpx.AsyncClient
) -> None:  # R11 (an absent caseworker is not assigned)
    settings = await graph.users.by_user_id(PERSONAL).mailbox_settings.get()
    assert settings.automatic_replies_setting.status == AutomaticRepliesStatus.Disabled
    patch = MailboxSettings(
        automatic_replies_setting=AutomaticRepliesSetting(
            status=AutomaticRepliesStatus.AlwaysEnabled,
            internal_reply_message="Eg er på ferie.",
            external_reply_message="Eg er på ferie.",
        )
    )
    await graph.users.by_user_id(PERSONAL).mailbox_settings.patch(patch)
    again = await graph.users.by_user_id(PERSONAL).mailbox_settings.get()
    assert again.automatic_replies_setting.status == AutomaticRepliesStatus.AlwaysEnabled
    assert again.automatic_replies_setting.internal_reply_message == "Eg er på ferie."
    await deliver(admin, PERSONAL, raw_mail("er du der", to=PERSONAL))
    outbound = (await admin.get("/_emulator/outbound")).json()["value"]
    assert outbound[0]["recipients"] == ["kari@example.org"]
    assert "Auto-Submitted: auto-replied" in outbound[0]["mime"]
