"""The sender's own words: a reply or forward without the quoted earlier mail.

Content cues must judge what this sender wrote. A short "takk for svar" that quotes the
municipality's decision letter is a thank-you, not a decision; a caseworker who forwards a phishing
mail to IT is reporting it, not phishing. Sensitive detection still reads the whole text, since a
quoted identity number is still in the mail (R2).
"""

from __future__ import annotations

import re

# A line that starts the quoted or forwarded part, in Outlook, Gmail and webmail styles and in
# Norwegian (bokmål and nynorsk) and English.
_QUOTE_START = re.compile(
    r"""^\s*(?:
        -{2,}\s*(?:original\s+message|opprinnelig\s+melding|opphavleg\s+melding|
                  videresendt\s+melding|vidaresendt\s+melding|forwarded\s+message)
      | _{8,}\s*$
      | (?:fra|frå|from)\s*:\s*.+$
      | .{0,120}\b(?:skrev|skreiv|wrote)\b[^\n]{0,200}:\s*$
      | >
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_FORWARD_PREFIX = re.compile(r"^\s*(?:fwd?|vs|vb|wg|tr)\s*:", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*(?:re|sv|aw|antw|ang)\s*:", re.IGNORECASE)
# A forward with fewer own words than this is judged by what it forwards.
_BARE_FORWARD_WORDS = 5


def is_forward_subject(subject: str) -> bool:
    return bool(_FORWARD_PREFIX.match(subject))


def is_reply_subject(subject: str) -> bool:
    return bool(_REPLY_PREFIX.match(subject))


def split_quoted(text: str) -> tuple[str, str]:
    """(own words, quoted or forwarded rest)."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if index > 0 and _QUOTE_START.match(line):
            return "\n".join(lines[:index]).strip(), "\n".join(lines[index:]).strip()
        if index == 0 and line.lstrip().startswith(">"):
            return "", text.strip()
    return text.strip(), ""


def own_words(subject: str, text: str) -> str:
    """The text this sender wrote; a bare forward is judged by what it forwards."""
    own, rest = split_quoted(text)
    if is_forward_subject(subject) and len(own.split()) < _BARE_FORWARD_WORDS:
        return text.strip()
    if not own and rest:
        return rest
    return own


def word_count(text: str) -> int:
    return len(text.split())
