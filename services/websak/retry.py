"""Retrying refused mail by command: `python -m services.websak retry [CASE_ID ...]`.

A permanent refusal (a 4xx from WebSak: an unknown case or template, an expired static token...)
leaves the mail recorded as refused on its receipt, with an alert to the supervisors. Once the
reason is fixed, this command archives the named cases, or every refused case when none is named,
with the same exactly-once steps as the service, and publishes their `archived` events.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.websak.archiving import Archiver, Outcome


@dataclass(frozen=True, slots=True)
class RetryResult:
    case_id: str
    outcome: Outcome | None
    problem: str | None = None


async def retry_refused(archiver: Archiver, case_ids: list[str]) -> list[RetryResult]:
    """Retry the named refused cases (every refused case when `case_ids` is empty)."""
    results: list[RetryResult] = []
    receipts = [] if case_ids else await archiver.receipts.refused()
    for case_id in case_ids:
        stored = await archiver.receipts.get(case_id)
        if stored is None:
            results.append(RetryResult(case_id, None, "websak has no receipt for this case"))
        elif stored[0].refusal is None:
            results.append(RetryResult(case_id, None, "not refused (retried automatically)"))
        else:
            receipts.append(stored[0])
    for receipt in receipts:
        request = receipt.request
        try:
            outcome = await archiver.archive_case(request, retry=True)
        except Exception as error:  # one case's failure must not stop the others
            results.append(RetryResult(request.case_id, None, f"{type(error).__name__}: {error}"))
            continue
        results.append(RetryResult(request.case_id, outcome))
    return results
