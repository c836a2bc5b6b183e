"""The one `file` field of a `multipart/form-data` upload, as WebSak's document routes take it.

A small parser of its own, so that uploaded bytes are kept exactly (checksums must match) and the
stand-in needs no extra dependency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class UploadedFile:
    filename: str
    content_type: str
    content: bytes


class FormDataError(ValueError):
    """The body is not a usable multipart/form-data upload."""


def _headers(block: bytes) -> Message:
    message = Message()
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            message[name.strip()] = value.strip()
    return message


def file_field(content_type: str, body: bytes, field_name: str = "file") -> UploadedFile:
    match = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/form-data") or match is None:
        raise FormDataError("expected multipart/form-data with a boundary")
    delimiter = b"--" + (match.group(1) or match.group(2)).encode("latin-1")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise FormDataError("a part has no header block")
        headers = _headers(head)
        if headers.get_param("name", header="content-disposition") != field_name:
            continue
        filename = headers.get_filename()
        if not filename:
            raise FormDataError("No file sent with request")
        return UploadedFile(
            filename=filename,
            content_type=headers.get_content_type(),
            content=content.removesuffix(b"\r\n"),
        )
    raise FormDataError("No file sent with request")
