"""Personal mailboxes (R9c, R15, R16): opt-in per person, judged in memory, told to the owner alone.

Nothing of a personal mailbox's content is ever written to the event stream, a KV bucket, the Object
Store or a log: mail is read from Graph, classified in this process and forgotten. KV holds only
who opted in (who recorded it, when), subscription secrets and cursors (delta links, the sweep's
next page and the Graph ids of the official mail it found).

The classifier's pure engine is used here, in ingest, on purpose: handing personal mail to the
classifier service would copy it over NATS. Only what is forwarded to Sakspost becomes a case.
"""
