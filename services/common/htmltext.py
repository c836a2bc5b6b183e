"""Readable text from HTML in one pass, linear in the markup's length.

`html.parser` is quadratic on tag soup: for `"<a " * 10000` it searches for the end of every
unfinished tag from its start again, and 30 KB of such markup cost seconds (issue #16, finding 1).
This tokenizer reads left to right and never looks back: each search for a delimiter (`>`, a
quote, the end of a comment or of a script) starts where the previous search for that delimiter
stopped or later (`_Finder`), so every character is examined a bounded number of times. A tag that
is never closed ends the markup's tags: the rest is text, as a mail client would show it.

On ordinary HTML it gives what the `html.parser` version gave: the text of the body, line breaks
for block elements, nothing from `<head>`, `<title>`, `<style>` or `<script>`, entities decoded.
"""

from __future__ import annotations

import html
import re

_BREAKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table", "hr"})
_HIDDEN = frozenset({"style", "script", "head", "title"})
# Their content is not markup: it runs to the matching end tag, whatever it holds.
_RAW_TEXT = frozenset({"style", "script"})
_NAME_END = frozenset(" \t\n\r\f/>")
_BLANK_LINES = re.compile(r"\n{3,}")


class _Finder:
    """`str.find` for one needle, remembering its last answer.

    Searches start at positions that never decrease, so an earlier answer at or after the new
    start (or "none at all") is still the answer: the markup is scanned for each needle once.
    """

    def __init__(self, text: str, needle: str) -> None:
        self._text = text
        self._needle = needle
        self._found = -2  # nothing searched yet

    def next(self, start: int) -> int:
        if self._found == -1 or self._found >= start:
            return self._found
        self._found = self._text.find(self._needle, start)
        return self._found


class _Tokenizer:
    def __init__(self, markup: str) -> None:
        self.markup = markup
        self.lowered = markup.lower()
        self.parts: list[str] = []
        self._hidden_depth = 0
        self._gt = _Finder(markup, ">")
        self._quotes = {q: _Finder(markup, q) for q in "\"'"}
        self._lt = _Finder(markup, "<")
        self._comment_end = _Finder(markup, "-->")

    def run(self) -> None:
        position, end = 0, len(self.markup)
        while position < end:
            opening = self._lt.next(position)
            if opening == -1:
                self._data(self.markup[position:])
                return
            if opening > position:
                self._data(self.markup[position:opening])
            position = self._markup_at(opening)

    def _markup_at(self, start: int) -> int:
        """Handle what starts with `<` at `start`; the position after it."""
        following = self.markup[start + 1 : start + 2]
        if self.markup.startswith("<!--", start):
            close = self._comment_end.next(start + 4)
            return len(self.markup) if close == -1 else close + 3
        if following in ("!", "?"):
            close = self._gt.next(start)
            return len(self.markup) if close == -1 else close + 1
        closing = following == "/"
        name_at = start + 2 if closing else start + 1
        if not self.markup[name_at : name_at + 1].isalpha():
            self._data("<")
            return start + 1
        tag_end = self._tag_end(name_at)
        if tag_end == -1:
            # Never closed: no more tags, the rest reads as text.
            self._data(self.markup[start:])
            return len(self.markup)
        name = self._name(name_at, tag_end)
        if closing:
            self._end_tag(name)
            return tag_end
        after = self._start_tag(name, tag_end)
        if self.markup[tag_end - 2] == "/":
            # `<br/>` is a start and an end tag, as html.parser reported it.
            self._end_tag(name)
        return after

    def _name(self, start: int, limit: int) -> str:
        end = start
        while end < limit and self.markup[end] not in _NAME_END:
            end += 1
        return self.lowered[start:end]

    def _tag_end(self, start: int) -> int:
        """The position after the `>` that closes a tag, quoted attribute values skipped; -1."""
        position = start
        while True:
            close = self._gt.next(position)
            if close == -1:
                return -1
            quotes = [
                (found, q) for q, f in self._quotes.items() if (found := f.next(position)) > -1
            ]
            quote_at, quote = min(quotes, default=(close + 1, ""))
            if quote_at > close:
                return close + 1
            value_end = self._quotes[quote].next(quote_at + 1)
            if value_end == -1:
                return -1
            position = value_end + 1

    def _start_tag(self, name: str, after: int) -> int:
        if name in _HIDDEN:
            self._hidden_depth += 1
        elif name in _BREAKS:
            self.parts.append("\n")
        if name not in _RAW_TEXT:
            return after
        # A script's or style's content runs to its end tag; a lower-cased copy finds it.
        close = self.lowered.find(f"</{name}", after)
        if close == -1:
            return len(self.markup)
        self._hidden_depth = max(0, self._hidden_depth - 1)
        tag_end = self._gt.next(close)
        return len(self.markup) if tag_end == -1 else tag_end + 1

    def _end_tag(self, name: str) -> None:
        if name in _HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif name in _BREAKS:
            self.parts.append("\n")

    def _data(self, text: str) -> None:
        if not self._hidden_depth:
            self.parts.append(html.unescape(text))


def html_to_text(markup: str) -> str:
    """Readable text from HTML, for mail that has no plain-text part."""
    tokenizer = _Tokenizer(markup)
    tokenizer.run()
    text = "".join(tokenizer.parts).replace("\xa0", " ")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
