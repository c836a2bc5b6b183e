"""An image bomb cannot exhaust websak (issue #16, finding 2): images are sized from their headers
before anything is decoded, and one over a cap is left out of the PDF with a line that says so."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from email.message import EmailMessage

import pikepdf
import pytest
from PIL import Image

from services.websak.images import ImageLimits, ImagePlan, LeftOut, read_header
from services.websak.render import render_mail_pdf
from tests.websak.pdftext import extract_text


def _png(width: int, height: int) -> bytes:
    """A real PNG of one-bit pixels: a few KB however large, the shape of an image bomb."""
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose pixel data is not even valid compressed data: only a header reader sizes it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"not zlib at all")


def _mail_with_images(html: str, images: dict[str, bytes]) -> bytes:
    message = EmailMessage()
    message["From"] = "Ola Nordmann <ola@example.no>"
    message["To"] = "post@ha.kommune.no"
    message["Subject"] = "Søknad med teikningar"
    message["Message-ID"] = "<bilete@example.no>"
    message.set_content("Sjå teikningane.")
    message.add_alternative(f"<html><body><p>Teikningane:</p>{html}</body></html>", subtype="html")
    body = message.get_body(preferencelist=("html",))
    assert isinstance(body, EmailMessage)
    for cid, content in images.items():
        body.add_related(content, maintype="image", subtype="png", cid=f"<{cid}>")
    return message.as_bytes()


def _images_and_text(pdf_bytes: bytes) -> tuple[list[tuple[int, int]], str]:
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        assert pdf.open_metadata().get("pdfaid:part") == "2"  # still PDF/A-2b
        sizes = [
            (int(image.Width), int(image.Height))
            for page in pdf.pages
            for image in page.Resources.get("/XObject", pikepdf.Dictionary()).values()
            if image.get("/Subtype") == "/Image"
        ]
        return sizes, extract_text(pdf)


def test_a_9000_by_9000_png_is_left_out_with_a_line_saying_so() -> None:  # #16 f2
    bomb = _png(9000, 9000)
    pixel = _png(2, 2)
    raw = _mail_with_images(
        '<img src="cid:bomb@x"><img src="cid:pixel@x">', {"bomb@x": bomb, "pixel@x": pixel}
    )
    assert len(raw) < 100_000

    sizes, text = _images_and_text(render_mail_pdf(raw, sensitive=False))

    assert sizes == [(2, 2)]  # the bomb never reached the renderer; the small one did
    assert "Bilete 1 (9000 × 9000 pikslar) er ikkje med i denne PDF-en" in text
    assert "større enn 25 megapikslar" in text
    assert "Teikningane:" in text


def test_ordinary_images_are_shown_and_uses_beyond_the_cap_are_counted() -> None:
    pixel = _png(4, 3)
    inline = base64.b64encode(_png(5, 5)).decode()
    html = '<img src="cid:pixel@x">' * 60 + f'<img src="data:image/png;base64,{inline}">'
    raw = _mail_with_images(html, {"pixel@x": pixel})
    sizes, text = _images_and_text(render_mail_pdf(raw, sensitive=False))
    # One image object however often it is used; the data: image is the 61st use, left out.
    assert sizes == [(4, 3)]
    assert "Ytterlegare 11 bilete er ikkje med: berre dei 50 første blir viste." in text

    sizes, text = _images_and_text(
        render_mail_pdf(
            _mail_with_images(f'<img src="data:image/png;base64,{inline}">', {}), sensitive=False
        )
    )
    assert sizes == [(5, 5)]
    assert "ikkje med" not in text


def test_the_line_is_in_the_chosen_language() -> None:
    raw = _mail_with_images('<img src="cid:bomb@x">', {"bomb@x": _png_header_only(6000, 6000)})
    sizes, text = _images_and_text(render_mail_pdf(raw, sensitive=False, language="nb"))
    assert sizes == []
    assert "Bilde 1 (6000 × 6000 piksler) er ikke med i denne PDF-en" in text


def test_the_plan_reads_headers_only_and_keeps_every_cap() -> None:
    # No pixel data at all: sized from the header, never decoded.
    assert read_header(_png_header_only(9000, 9000)) is not None
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    assert read_header(svg) is None

    plan = ImagePlan(ImageLimits(max_image_pixels=20_000, max_mail_pixels=15_000, max_images=6))
    admitted = [
        plan.admit("cid:a", _png(100, 100)),
        plan.admit("cid:a", _png(100, 100)),  # the same image again: no more pixels
        plan.admit("cid:b", _png(100, 100)),  # 20,000 of 15,000 for the mail: over
        plan.admit("cid:c", _png_header_only(200, 200)),  # over the cap per image
        plan.admit("cid:d", svg),
        plan.admit("cid:e", None),  # no such part
        plan.admit("cid:a", _png(100, 100)),  # the seventh use: beyond the cap
    ]
    assert admitted == ["cid:sakspost-image-1", "cid:sakspost-image-1"] + [None] * 5
    assert [(s.number, s.reason, s.width) for s in plan.skipped] == [
        (3, LeftOut.MAIL_FULL, 100),
        (4, LeftOut.TOO_LARGE, 200),
        (5, LeftOut.UNREADABLE, None),
        (6, LeftOut.UNREADABLE, None),
    ]
    assert plan.beyond_count == 1
    assert list(plan.shown) == ["sakspost-image-1"]


@pytest.mark.parametrize("limit", [0, 1])
def test_a_cap_of_zero_or_one_image_is_kept(limit: int) -> None:
    plan = ImagePlan(ImageLimits(max_images=limit))
    assert [plan.admit(f"cid:{n}", _png(2, 2)) is not None for n in range(3)] == [
        n < limit for n in range(3)
    ]
