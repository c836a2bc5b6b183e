"""A notice as a Microsoft Teams message with an Adaptive Card (schema 1.5).

The envelope is what both Teams Workflows ("Post card in a chat or channel") and incoming webhooks
accept: a `message` with one `application/vnd.microsoft.card.adaptive` attachment. The recipient is
@mentioned (`msteams.entities`), so the card reaches the person in a shared channel.
"""

from __future__ import annotations

from typing import Any

from services.notifier.notice import Notice

ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ADAPTIVE_CARD_VERSION = "1.5"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def adaptive_card(notice: Notice) -> dict[str, Any]:
    message = notice.message
    recipient = notice.recipient
    mention = f"<at>{recipient.name}</at>"
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": message.title, "weight": "Bolder", "size": "Medium",
         "wrap": True},
        {"type": "TextBlock", "text": mention, "wrap": True, "spacing": "None"},
    ]  # fmt: skip
    if message.warning:
        body.append(
            {"type": "TextBlock", "text": message.warning, "color": "Attention",
             "weight": "Bolder", "wrap": True}
        )  # fmt: skip
    body.extend({"type": "TextBlock", "text": line, "wrap": True} for line in message.lines)
    if message.facts:
        body.append(
            {"type": "FactSet",
             "facts": [{"title": label, "value": value} for label, value in message.facts]}
        )  # fmt: skip
    card: dict[str, Any] = {
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "lang": recipient.language,
        "body": body,
        "msteams": {
            "width": "Full",
            "entities": [
                {"type": "mention", "text": mention,
                 "mentioned": {"id": recipient.address, "name": recipient.name}}
            ],
        },
    }  # fmt: skip
    if message.link:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": message.link_label or message.link,
             "url": message.link}
        ]  # fmt: skip
    return card


def teams_message(notice: Notice) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": adaptive_card(notice)}
        ],
    }
