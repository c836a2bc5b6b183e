"""Thread context: the class of a conversation's earlier mail, kept by the classifier.

A reply in an archival conversation is judged as archival (the classification guide), so the
classifier remembers, per conversation, whether it has held archival mail. The bucket is the
classifier's own; nobody else writes it.
"""

from __future__ import annotations

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from schemas.vocab import MailClass
from services.common.conversation import conversation_key
from services.common.jetstream import BucketSpec

THREADS_BUCKET = "sakspost_threads"
THREADS = BucketSpec(THREADS_BUCKET, description="Conversation → class; the classifier writes")


def thread_key(conversation_id: str) -> str:
    return "c." + conversation_key(conversation_id)


class ThreadMemory:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def class_of(self, conversation_id: str | None) -> MailClass | None:
        if not conversation_id:
            return None
        try:
            entry = await self._kv.get(thread_key(conversation_id))
        except KeyNotFoundError:
            return None
        return MailClass(entry.value.decode()) if entry.value else None

    async def remember(self, conversation_id: str | None, mail_class: MailClass) -> None:
        """Archival wins: once a conversation held archival mail, it stays an archival thread."""
        if not conversation_id:
            return
        if mail_class is MailClass.ARKIVVERDIG or await self.class_of(conversation_id) is None:
            await self._kv.put(thread_key(conversation_id), mail_class.value.encode())
