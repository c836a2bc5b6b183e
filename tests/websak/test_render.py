"""The archival rendering: PDF/A-2b structure, extractable text, nothing fetched (R9a)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import AsyncIterator
from email.message import EmailMessage

import pikepdf
import pytest

from services.common.mail import parse_mail
from services.common.settings import REPO_ROOT
from services.websak.render import render_mail_pdf
from services.websak.sanitize import sanitize_html
from tests.websak.pdftext import extract_text, text_right_edges

SAMPLES = REPO_ROOT / "samples"
# A 1x1 red PNG, embedded by Content-ID.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)
# The right edge of the page's text: A4 (595.28 pt) less the 16 mm right margin (45.35 pt).
TEXT_RIGHT_EDGE = 595.28 - 45.35


def _arkivverdig(html: bool) -> str:
    for line in (SAMPLES / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        if label["class"] != "arkivverdig":
            continue
        mail = parse_mail((SAMPLES / label["file"]).read_bytes())
        if (mail.html is not None) == html and mail.attachments:
            return str(label["file"])
    raise LookupError("no such sample")


def _render(raw: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(render_mail_pdf(raw, sensitive=False)))


@pytest.mark.parametrize("with_html", [True, False], ids=["html", "plain"])
def test_mail_renders_as_pdfa_2b_with_embedded_fonts_and_text(with_html: bool) -> None:  # R9a
    raw = (SAMPLES / _arkivverdig(with_html)).read_bytes()
    mail = parse_mail(raw)
    with _render(raw) as pdf:
        metadata = pdf.open_metadata()
        assert metadata.get("pdfaid:part") == "2"
        assert metadata.get("pdfaid:conformance") == "B"
        intents = pdf.Root.OutputIntents
        assert len(intents) == 1
        assert intents[0].S == "/GTS_PDFA1"
        assert "/DestOutputProfile" in intents[0]
        fonts = [font for page in pdf.pages for font in page.Resources.Font.values()]
        assert fonts
        for font in fonts:
            descriptor = font.DescendantFonts[0].FontDescriptor
            assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
        text = extract_text(pdf).replace(" ", "")
    assert mail.sender is not None
    for expected in (mail.subject, mail.sender.address, mail.message_id or ""):
        assert expected.replace(" ", "") in text
    first_line = next(line for line in mail.text.splitlines() if len(line.strip()) > 10)
    assert first_line.replace(" ", "") in text
    for attachment in mail.attachments:
        assert attachment.sha256 in text


def _mail_with_long_values() -> tuple[bytes, list[str]]:
    """A mail whose header values and attachment names are single words far wider than their
    column, and the values that must all be on the page."""
    subject = "Søknad" + "Ø" * 160
    filename = "vedlegg-" + "x" * 150 + ".pdf"
    message = EmailMessage()
    message["From"] = f"{'Nordmann' * 12} <{'ola' * 30}@example.no>"
    message["To"] = "post@ha.kommune.no"
    message["Subject"] = subject
    message["Message-ID"] = f"<{'id' * 60}@example.no>"
    message.set_content("Sjå vedlegget.")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename=filename)
    content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    maintype, _, subtype = content_type.partition("/")
    message.add_attachment(b"PK", maintype=maintype, subtype=subtype, filename="kort.docx")
    return message.as_bytes(), [subject, "ola" * 30, "id" * 60, filename, content_type]


def test_long_header_values_and_attachment_names_wrap_within_the_page() -> None:  # R9a
    raw, values = _mail_with_long_values()
    with _render(raw) as pdf:
        text = extract_text(pdf).replace(" ", "")
        edges = text_right_edges(pdf)
    for value in values:
        assert value in text
    for attachment in parse_mail(raw).attachments:
        assert attachment.sha256 in text
    assert edges
    assert max(edges) <= TEXT_RIGHT_EDGE + 0.5


class CountingListener:
    """A tiny HTTP server on a free port that counts every connection made to it."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.readline()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.fixture
async def listener() -> AsyncIterator[CountingListener]:
    counter = CountingListener()
    server = await asyncio.start_server(counter._handle, "127.0.0.1", 0)
    counter.port = server.sockets[0].getsockname()[1]
    async with server:
        yield counter


def _mail_with_remote_resources(port: int) -> bytes:
    base = f"http://127.0.0.1:{port}"
    message = EmailMessage()
    message["From"] = "Ola Nordmann <ola@example.no>"
    message["To"] = "post@ha.kommune.no"
    message["Subject"] = "Klage med bilete"
    message["Message-ID"] = "<remote-test@example.no>"
    message.set_content("Sjå vedlagt bilete.")
    message.add_alternative(
        f"""<html><head><link rel="stylesheet" href="{base}/style.css">
        <style>@import url({base}/import.css); body {{ background: url({base}/bg.png) }}</style>
        <script src="{base}/script.js"></script></head>
        <body><p style="background-image:url({base}/inline.png)">Klagen gjeld vedtaket.</p>
        <img src="{base}/remote.png" alt="eksternt bilete"><img src="relative.png">
        <img src="cid:pixel@local"><iframe src="{base}/frame"></iframe>
        <form action="{base}/post"><input name="fnr"><button>Send</button></form>
        <object data="{base}/object"></object><video poster="{base}/poster.png"></video>
        </body></html>""",
        subtype="html",
    )
    html_part = message.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(PIXEL, maintype="image", subtype="png", cid="<pixel@local>")
    return message.as_bytes()


async def test_rendering_fetches_no_remote_resource(listener: CountingListener) -> None:  # R9a
    raw = _mail_with_remote_resources(listener.port)
    pdf_bytes = await asyncio.to_thread(render_mail_pdf, raw, sensitive=False)

    assert listener.connections == 0
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        images = [
            obj
            for page in pdf.pages
            for obj in page.Resources.get("/XObject", pikepdf.Dictionary()).values()
            if obj.get("/Subtype") == "/Image"
        ]
        assert len(images) == 1  # the cid: part, embedded; nothing else
        assert "Klagen gjeld vedtaket." in extract_text(pdf)
    # The control: the listener does count a real request.
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await reader.read()
    writer.close()
    assert listener.connections == 1


def test_scripts_forms_and_handlers_are_removed() -> None:
    cleaned = sanitize_html(
        '<p onclick="steal()">Hei</p><script>alert(1)</script><form><input value="x">'
        '<textarea>utkast</textarea></form><a href="javascript:alert(1)">lenke</a>',
        images=lambda source: source,
    )
    for forbidden in ("onclick", "<script", "alert", "<form", "<input", "utkast", "javascript:"):
        assert forbidden not in cleaned
    assert "Hei" in cleaned
    assert "lenke" in cleaned
