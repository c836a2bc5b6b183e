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


def _widths(font: pikepdf.Object) -> dict[int, float]:
    """Glyph id → advance in thousandths of the font size, from the CID font's `/W` array."""
    descendant = font.DescendantFonts[0]
    items = list(descendant.get("/W", pikepdf.Array()))
    widths: dict[int, float] = {}
    index = 0
    while index < len(items):
        first, following = int(items[index]), items[index + 1]
        if isinstance(following, pikepdf.Array):
            widths.update({first + i: float(w) for i, w in enumerate(following)})
            index += 2
        else:
            widths.update(dict.fromkeys(range(first, int(following) + 1), float(items[index + 2])))
            index += 3
    return widths


def text_right_edges(pdf: pikepdf.Pdf) -> list[float]:
    """Where each `TJ` run of text ends, in the page's own units (WeasyPrint's page matrix scales
    CSS pixels by 0.75 and positions each run with a `Tm` of its own)."""
    edges: list[float] = []
    for page in pdf.pages:
        fonts = page.Resources.get("/Font", pikepdf.Dictionary())
        widths = {str(name): _widths(font) for name, font in fonts.items()}
        current: dict[int, float] = {}
        size = x = 0.0
        for instruction in pikepdf.parse_content_stream(page):
            if not isinstance(instruction, pikepdf.ContentStreamInstruction):
                continue
            operands, name = instruction.operands, str(instruction.operator)
            if name == "Tf":
                current, size = widths.get(str(operands[0]), {}), float(operands[1])
            elif name == "Tm":
                x = float(operands[4])
            elif name == "TJ":
                advance = 0.0
                for item in operands[0]:
                    if isinstance(item, pikepdf.String):
                        data = bytes(item)
                        codes = (
                            int.from_bytes(data[i : i + 2], "big")
                            for i in range(0, len(data) - 1, 2)
                        )
                        advance += sum(current.get(code, 0.0) for code in codes)
                    else:
                        advance -= float(item)
                edges.append(0.75 * (x + advance * size / 1000))
    return edges
