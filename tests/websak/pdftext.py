"""The text of a PDF, read back through each font's ToUnicode map (what a text extractor does).

WeasyPrint writes text as two-byte glyph ids in Type0 fonts; the ToUnicode CMap turns them back into
characters. Reading it back proves the body text is extractable, not only drawn.
"""

from __future__ import annotations

import re

import pikepdf

_HEX = r"<([0-9A-Fa-f]+)>"
_BFCHAR = re.compile(rf"{_HEX}\s*{_HEX}")
_BFRANGE = re.compile(rf"{_HEX}\s*{_HEX}\s*{_HEX}")


def _unicode(hex_text: str) -> str:
    return bytes.fromhex(hex_text).decode("utf-16-be", "replace")


def _cmap(font: pikepdf.Object) -> dict[int, str]:
    stream = font.get("/ToUnicode")
    if stream is None:
        return {}
    text = bytes(stream.read_bytes()).decode("latin-1")
    mapping: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
        for source, target in _BFCHAR.findall(block):
            mapping[int(source, 16)] = _unicode(target)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
        for low, high, start in _BFRANGE.findall(block):
            first = int(start, 16)
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[code] = chr(first + offset)
    return mapping


def _decode(data: bytes, cmap: dict[int, str]) -> str:
    codes = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data) - 1, 2)]
    return "".join(cmap.get(code, "") for code in codes)


def extract_text(pdf: pikepdf.Pdf) -> str:
    pieces: list[str] = []
    for page in pdf.pages:
        fonts = page.Resources.get("/Font", pikepdf.Dictionary())
        maps = {str(name): _cmap(font) for name, font in fonts.items()}
        current: dict[int, str] = {}
        for instruction in pikepdf.parse_content_stream(page):
            if not isinstance(instruction, pikepdf.ContentStreamInstruction):
                continue
            operands, name = instruction.operands, str(instruction.operator)
            if name == "Tf":
                current = maps.get(str(operands[0]), {})
            elif name == "Tj":
                pieces.append(_decode(bytes(operands[0]), current))
            elif name == "TJ":
                for item in operands[0]:
                    if isinstance(item, pikepdf.String):
                        pieces.append(_decode(bytes(item), current))
                    elif float(item) < -200:
                        pieces.append(" ")
            elif name in ("ET", "T*", "Td", "TD"):
                pieces.append(" ")
    return re.sub(r"\s+", " ", "".join(pieces))
