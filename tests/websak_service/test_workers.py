"""Issue 20: websak archives as many mails at once as it has rendering workers, so a mail held up
(a slow archive call, a costly rendering) does not hold the mail behind it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from services.common.orgconfig import Organisation
from services.common.settings import Settings
from services.websak.app import build
from services.websak.config import ArchivingOptions
from tests.support.events import event_log
from tests.support.publishing import EventInjector
from tests.websak_service.conftest import wiring_for
from tests.websak_service.gate import Gate, gated_standin
from tests.websak_service.support import deliver, labels, publish


async def test_a_mail_held_in_one_worker_does_not_hold_the_next(  # R9a
    injector: EventInjector,
    org: Organisation,
    settings: Settings,
    tmp_path: Path,
) -> None:
    held, behind = [await deliver(injector, org, label) for label in labels("arkivverdig")[:2]]
    # The archive keeps its answer to the first journalpost until the second mail is archived.
    gate = Gate("POST", r"/api/integration/journalpost/ny")
    async with (
        gated_standin(tmp_path / "websak", gate) as url,
        event_log(settings, "sakspost.mail.archived.>") as archived,
    ):
        wiring = wiring_for(url)
        assert wiring.connection is not None
        wiring = replace(
            wiring,
            # Longer than the test: the held request must not end in a timeout and a retry.
            connection=wiring.connection.model_copy(update={"timeout_s": 600}),
            options=ArchivingOptions(workers=2),
        )
        async with build(settings, org, wiring).running():
            await publish(injector, held.routed)
            await asyncio.wait_for(gate.held.wait(), timeout=60)
            await publish(injector, behind.routed)
            await archived.wait_for_case(behind.case_id, "archived", timeout=45)
            assert not archived.matching(lambda _s, p: p.get("case_id") == held.case_id)
            gate.released.set()
            await archived.wait_for_case(held.case_id, "archived", timeout=60)
