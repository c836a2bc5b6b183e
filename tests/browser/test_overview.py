"""Issue 19's acceptance in a real browser: headless Chromium signs in through the emulated Entra ID
(the real authorization code flow with PKCE, the emulator's account picker) and uses the overview of
one running stack (`sakspost up`), shared by the tests of this module.

- A supervisor sees mail delivered over SMTP appear on the department page without reloading,
  reassigns a case (the `Tildelt:` category changes in the emulator's mailbox, read with the real
  msgraph-sdk, and the new assignee is sent a notice), marks one Ferdig, and is refused another
  department's case and page.
- A caseworker sees their own cases only, on a phone-sized screen too.

With SAKSPOST_SCREENSHOTS=DIR the supervisor's department view and a case page are saved there
(`make screenshots` writes the README's).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, expect

from schemas.commands import Verb
from services.common.graph import graph_client_for
from services.common.mail import parse_mail
from services.common.orgconfig import Organisation, load_organisation
from services.common.received import official_recipient
from services.common.settings import DEFAULT_ORG_CONFIG, Settings
from tests.conftest import SAMPLES
from tests.support.commands import ask
from tests.support.events import EventLog, event_log
from tests.support.signin import id_token_for
from tests.support.stack import RunningStack, running_stack
from tests.support.writebacks import written_back

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SUPERVISOR = "rune.bo@ha.kommune.no"  # teknisk
CASEWORKER = "anders.moi"  # teknisk
# Generous bounds for a stuck pipeline on a loaded machine, never a speed check.
PIPELINE_MS = 120_000
WAIT_S = 120.0


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningStack]:
    async with running_stack(tmp_path_factory.mktemp("browser") / "stack") as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def events(stack: RunningStack) -> AsyncIterator[EventLog]:
    async with event_log(stack.settings(), "sakspost.>") as log:
        yield log


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(DEFAULT_ORG_CONFIG)


def overview_url(stack: RunningStack) -> str:
    return f"http://127.0.0.1:{stack.port('SAKSPOST_OVERVIEW_PORT')}"


async def browser_context(browser: Browser, width: int = 1280, height: int = 860) -> BrowserContext:
    # The emulator's login host has a certificate made at start, as a developer's would.
    return await browser.new_context(
        ignore_https_errors=True, viewport={"width": width, "height": height}
    )


async def sign_in(context: BrowserContext, stack: RunningStack, email: str, path: str) -> Page:
    """Open `path` of the overview, which sends the browser to Entra ID's (the emulator's)
    account picker; choose `email` there, and land back on `path` signed in."""
    page = await context.new_page()
    await page.goto(overview_url(stack) + path)
    await page.locator(f'button[name="email"][value="{email}"]').click()
    await page.wait_for_url(overview_url(stack) + path)
    return page


def sample(org: Organisation, name: str) -> tuple[Path, str]:
    path = SAMPLES / name
    mailbox = official_recipient(parse_mail(path.read_bytes()), org)
    assert mailbox is not None, name
    return path, mailbox


async def routed_case(events: EventLog, path: Path) -> dict[str, object]:
    """The latest `routed` event of the mail in `path`, once it has one."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    ((_, received),) = await events.wait_for(
        lambda _s, p: p["type"] == "received" and p["mime_sha256"] == digest, timeout=WAIT_S
    )
    case = str(received["case_id"])
    await events.wait_for(
        lambda _s, p: p["type"] == "routed" and p["case_id"] == case, timeout=WAIT_S
    )
    return events.matching(lambda _s, p: p["type"] == "routed" and p["case_id"] == case)[-1][1]


async def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("SAKSPOST_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / name), full_page=True)


async def outlook_categories(stack: RunningStack, routed: dict[str, object]) -> list[str]:
    graph = graph_client_for(Settings(graph_base_url=stack.graph_url + "/v1.0"))
    mailbox = str(routed["mailbox"])
    message_id = str(routed["graph_message_id"])
    message = await graph.users.by_user_id(mailbox).messages.by_message_id(message_id).get()
    assert message is not None
    return list(message.categories or [])


async def written(stack: RunningStack, graph_message_id: str, previous: str | None) -> str:
    connection = await stack.connect("admin")
    try:
        return await written_back(connection.jetstream(), graph_message_id, previous, WAIT_S)
    finally:
        await connection.close()


async def test_a_supervisor_sees_mail_arrive_live_reassigns_finishes_and_stays_in_their_department(
    browser: Browser, stack: RunningStack, events: EventLog, org: Organisation
) -> None:
    context = await browser_context(browser)
    page = await sign_in(context, stack, SUPERVISOR, "/d/teknisk")
    rows = page.locator("#queue tr[data-case-id]")
    before = await rows.count()
    # A mark on this very document: it is gone if the page reloads.
    await page.evaluate("window.sakspostNotReloaded = true")

    first, second = sample(org, "0006.eml"), sample(org, "0008.eml")
    stack.deliver([first, second])
    await expect(rows).to_have_count(before + 2, timeout=PIPELINE_MS)
    assert await page.evaluate("window.sakspostNotReloaded === true")
    await screenshot(page, "overview-department.png")

    # Reassign the first mail to a colleague other than its assignee.
    routed = await routed_case(events, first[0])
    case_id = str(routed["case_id"])
    assignee = routed["assignee"]
    assert isinstance(assignee, dict)
    target = next(
        member
        for member in org.departments["teknisk"].caseworkers
        if member != assignee["id"] and member != CASEWORKER
    )
    target_name = org.staff_member(target).name
    first_write = await written(stack, str(routed["graph_message_id"]), None)
    await page.locator(f'#queue tr[data-case-id="{case_id}"] a').click()
    await page.wait_for_url(f"{overview_url(stack)}/case/{case_id}")
    await screenshot(page, "overview-case.png")
    await page.get_by_label("Tildel til").select_option(target)
    await page.get_by_role("button", name="Tildel", exact=True).click()
    await expect(page.locator("#notice")).to_be_visible()
    ((_, manual),) = await events.wait_for(
        lambda _s, p: p["type"] == "routed" and p["case_id"] == case_id and p["policy"] == "manual",
        timeout=WAIT_S,
    )
    assert manual["assignee"]["id"] == target
    await written(stack, str(routed["graph_message_id"]), first_write)
    assert f"Tildelt: {target_name}" in await outlook_categories(stack, routed)
    await events.wait_for(
        lambda _s, p: (
            p["type"] == "notice_sent"
            and p["case_id"] == case_id
            and p["kind"] == "assigned"
            and p["recipient"]["address"] == org.staff_member(target).email
        ),
        timeout=WAIT_S,
    )
    history = page.locator("table#history")
    await expect(history).to_contain_text(org.staff_member("rune.bo").name)

    # Mark it Ferdig.
    await page.get_by_role("button", name="Merk som ferdig").click()
    await events.wait_for(
        lambda _s, p: p["type"] == "completed" and p["case_id"] == case_id, timeout=WAIT_S
    )
    await page.goto(f"{overview_url(stack)}/d/teknisk")
    await expect(page.locator(f'tr[data-case-id="{case_id}"][data-status="ferdig"]')).to_have_count(
        1
    )

    # Another department's case and page are refused.
    other = sample(org, "0001.eml")  # stab
    stack.deliver([other])
    other_case = str((await routed_case(events, other[0]))["case_id"])
    refused = await page.goto(f"{overview_url(stack)}/case/{other_case}")
    assert refused is not None and refused.status == 403
    await expect(page.locator("p#message")).to_be_visible()
    refused = await page.goto(f"{overview_url(stack)}/d/stab")
    assert refused is not None and refused.status == 403
    await context.close()


async def test_a_caseworker_sees_their_own_cases_only_also_on_a_phone(
    browser: Browser, stack: RunningStack, events: EventLog, org: Organisation
) -> None:
    mine, theirs = sample(org, "0011.eml"), sample(org, "0032.eml")
    stack.deliver([mine, theirs])
    supervisor = await id_token_for(stack, SUPERVISOR)
    connection = await stack.connect("operator")
    try:
        for (path, _), who in ((mine, CASEWORKER), (theirs, "siri.vold")):
            case_id = str((await routed_case(events, path))["case_id"])
            reply = await ask(
                connection,
                Verb.ASSIGN,
                supervisor,
                request_id=f"browser-{case_id}",
                case_id=case_id,
                to=who,
            )
            assert reply["ok"], reply
    finally:
        await connection.close()
    mine_case = str((await routed_case(events, mine[0]))["case_id"])
    theirs_case = str((await routed_case(events, theirs[0]))["case_id"])

    context = await browser_context(browser, width=360, height=740)
    email = org.staff_member(CASEWORKER).email
    page = await sign_in(context, stack, email, "/d/teknisk")
    await expect(page.locator(f'tr[data-case-id="{mine_case}"]')).to_have_count(1)
    await expect(page.locator(f'tr[data-case-id="{theirs_case}"]')).to_have_count(0)
    # Every case row the caseworker is shown is theirs.
    names = await page.locator("#queue tr[data-case-id] td:nth-child(5)").all_inner_texts()
    assert names and set(names) == {org.staff_member(CASEWORKER).name}
    # Usable on a phone: nothing wider than the screen but the tables, which scroll in place.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    refused = await page.goto(f"{overview_url(stack)}/case/{theirs_case}")
    assert refused is not None and refused.status == 403
    await context.close()
