"""Ingest: Microsoft Graph change notifications, subscriptions, delta catch-up and raw MIME become
`received`, `changed` and `deleted` events (R4, R7, R13)."""
