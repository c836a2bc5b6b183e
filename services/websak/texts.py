"""The words of the archival PDF, in nynorsk (the default), bokmål and English.

Templates are plain format strings per language (`SAKSPOST_WEBSAK_LANGUAGE` picks one); the
functions here only fill them in. None of them holds mail content: the page escapes what it takes
from the mail itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.common.language import Language, in_language
from services.websak.images import ImageLimits, LeftOut, SkippedImage

Phrases = Mapping[str, str]

PHRASES: Mapping[Language, Phrases] = {
    "nn": {
        "from": "Frå",
        "to": "Til",
        "cc": "Kopi",
        "date": "Dato",
        "subject": "Emne",
        "attachments": "Vedlegg ({count})",
        "filename": "Filnamn",
        "type": "Type",
        "size": "Storleik",
        "unnamed": "(utan namn)",
        "image_left_out": "Bilete {number}{size} er ikkje med i denne PDF-en: {reason}.",
        "image_size": " ({width} × {height} pikslar)",
        LeftOut.TOO_LARGE: "det er større enn {limit} megapikslar",
        LeftOut.MAIL_FULL: "bileta i e-posten er til saman større enn {limit} megapikslar",
        LeftOut.UNREADABLE: "det finst ikkje i e-posten eller er i eit format som ikkje blir vist",
        "images_beyond": "Ytterlegare {count} bilete er ikkje med: "
        "berre dei {limit} første blir viste.",
        "images_in_original": "E-posten med alle bileta er arkivert ved sida av som .eml-fil.",
    },
    "nb": {
        "from": "Fra",
        "to": "Til",
        "cc": "Kopi",
        "date": "Dato",
        "subject": "Emne",
        "attachments": "Vedlegg ({count})",
        "filename": "Filnavn",
        "type": "Type",
        "size": "Størrelse",
        "unnamed": "(uten navn)",
        "image_left_out": "Bilde {number}{size} er ikke med i denne PDF-en: {reason}.",
        "image_size": " ({width} × {height} piksler)",
        LeftOut.TOO_LARGE: "det er større enn {limit} megapiksler",
        LeftOut.MAIL_FULL: "bildene i e-posten er til sammen større enn {limit} megapiksler",
        LeftOut.UNREADABLE: "det finnes ikke i e-posten eller er i et format som ikke vises",
        "images_beyond": "Ytterligere {count} bilder er ikke med: bare de {limit} første vises.",
        "images_in_original": "E-posten med alle bildene er arkivert ved siden av som .eml-fil.",
    },
    "en": {
        "from": "From",
        "to": "To",
        "cc": "Cc",
        "date": "Date",
        "subject": "Subject",
        "attachments": "Attachments ({count})",
        "filename": "File name",
        "type": "Type",
        "size": "Size",
        "unnamed": "(no name)",
        "image_left_out": "Image {number}{size} is not in this PDF: {reason}.",
        "image_size": " ({width} × {height} pixels)",
        LeftOut.TOO_LARGE: "it is larger than {limit} megapixels",
        LeftOut.MAIL_FULL: "the mail's images together are larger than {limit} megapixels",
        LeftOut.UNREADABLE: "it is not in the mail, or in a format that is not shown",
        "images_beyond": "{count} more images are not in it: only the first {limit} are shown.",
        "images_in_original": "The mail with every image is archived beside it as an .eml file.",
    },
}


def phrase(language: Language, key: str, **values: object) -> str:
    return in_language(PHRASES, language)[key].format(**values)


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:g}"


def image_left_out(language: Language, image: SkippedImage, limits: ImageLimits) -> str:
    """The line that stands for an image the page leaves out."""
    size = (
        phrase(language, "image_size", width=image.width, height=image.height)
        if image.width is not None
        else ""
    )
    cap = limits.max_mail_pixels if image.reason is LeftOut.MAIL_FULL else limits.max_image_pixels
    reason = phrase(language, image.reason, limit=_megapixels(cap))
    return phrase(language, "image_left_out", number=image.number, size=size, reason=reason)
