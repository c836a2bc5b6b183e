"""Every live key of a KV bucket, read so that none can be missed (issue 18).

nats-py's `KeyValue.keys()` and `watch()` decide "nothing stored" from the consumer's
`num_pending`, asked after its push subscription started, together with how many messages the
client has parsed so far. When the server has already pushed the keys but the client has not
read them off the socket yet, both are 0: the watch reports the end at once and `keys()` raises
`NoKeysError` for a bucket full of keys (a correction `sakspost classify --learn` never saw).

Here an ephemeral pull consumer reads the bucket instead. It delivers nothing until asked, so its
`num_pending` when created is exactly what is stored under the pattern then, and each message
says how many follow it: the read ends when the server says none is left, never on the client's
count. Its grant is `permissions.kv_reader` (creating, asking and deleting such consumers).
"""

from __future__ import annotations

from nats.js import api
from nats.js.kv import KeyValue

# What a batch asks for; the bucket's size decides how many batches.
_BATCH = 256
# How long one batch may take before the server is asked whether anything is left: messages
# that expire (a bucket's max age) between the consumer's creation and the batch never come.
_BATCH_WAIT_SECONDS = 2.0
# A consumer left by a reader that died is removed by the server after this.
_INACTIVE_SECONDS = 60.0
_REMOVED = {"DEL", "PURGE"}  # KV-Operation of a delete or purge marker
_EXPIRED = {"MaxAge", "Purge", "Remove"}  # Nats-Marker-Reason of server-placed markers (2.11+)


def _removes(headers: dict[str, str] | None) -> bool:
    if not headers:
        return False
    return headers.get("KV-Operation") in _REMOVED or headers.get("Nats-Marker-Reason") in _EXPIRED


async def live_entries(
    kv: KeyValue, pattern: str = ">", *, values: bool = True
) -> dict[str, KeyValue.Entry]:
    """The live keys matching `pattern` (a NATS subject pattern over keys) with their latest
    entries; deleted and purged keys are left out. `values=False` reads headers only (keys and
    revisions; every value empty). A key written while the read runs may or may not be in it;
    a key stored before it began always is."""
    # nats-py keeps a bucket's stream and subject prefix private and offers no such read.
    js, stream, prefix = kv._js, kv._stream, kv._pre
    config = api.ConsumerConfig(
        name=js._nc._nuid.next().decode(),
        filter_subject=prefix + pattern,
        deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT,
        ack_policy=api.AckPolicy.NONE,
        headers_only=not values,
        mem_storage=True,
        num_replicas=1,
        inactive_threshold=_INACTIVE_SECONDS,
    )
    created = await js.add_consumer(stream, config)
    name = created.name
    found: dict[str, KeyValue.Entry] = {}
    remaining = created.num_pending or 0
    received = 0  # the consumer sequence of the last message read
    try:
        if remaining:
            subscription = await js.pull_subscribe_bind(consumer=name, stream=stream)
            try:
                while remaining:
                    try:
                        batch = await subscription.fetch(
                            min(remaining, _BATCH), timeout=_BATCH_WAIT_SECONDS
                        )
                    except TimeoutError:  # nats-py raises its own and asyncio's
                        # Done only when the server has nothing left to deliver and every
                        # message it delivered has been read (the next fetch reads first what
                        # has reached the client meanwhile).
                        info = await js.consumer_info(stream, name)
                        delivered = info.delivered.consumer_seq if info.delivered else 0
                        remaining = (info.num_pending or 0) + ((delivered or 0) - received)
                        continue
                    for message in batch:
                        meta = message.metadata
                        remaining, received = meta.num_pending or 0, meta.sequence.consumer
                        key = message.subject[len(prefix) :]
                        if _removes(message.headers):
                            found.pop(key, None)  # deleted while the read ran
                            continue
                        found[key] = KeyValue.Entry(
                            bucket=kv._name,
                            key=key,
                            value=message.data,
                            revision=meta.sequence.stream,
                            delta=meta.num_pending,
                            created=None,
                            operation=None,
                        )
            finally:
                await subscription.unsubscribe()
    finally:
        await js.delete_consumer(stream, name)
    return found


async def live_keys(kv: KeyValue, pattern: str = ">") -> list[str]:
    """The live keys matching `pattern`, sorted; their values are not read."""
    return sorted(await live_entries(kv, pattern, values=False))
