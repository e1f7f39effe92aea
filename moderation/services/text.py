"""Normalising and checking what people type."""
from __future__ import annotations

import re
import unicodedata

from .errors import DomainError

MAX_QUESTION = 500
MAX_NAME = 80

# Bidi embeddings/overrides/isolates and marks: they can make a text read differently than it is.
# Zero-width spaces, word joiner and BOM: invisible. (Joiners ZWJ/ZWNJ stay: emoji and scripts need them.)
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
                              "\u200b\u2060\ufeff\u180e"))
_WHITESPACE = re.compile(r"\s+")


def normalise(value: str) -> str:
    """Control, bidi and zero-width characters and lone surrogates removed, whitespace collapsed,
    trimmed, then NFC (last, so that a removed character cannot leave a decomposed pair behind).
    Only invisible format characters left: empty."""
    kept = (ch for ch in value.translate(_BIDI) if unicodedata.category(ch) != "Cs")
    value = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in kept)
    value = unicodedata.normalize("NFC", _WHITESPACE.sub(" ", value).strip())
    if all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in value):
        return ""
    return value


def question_text(value: object) -> str:
    if not isinstance(value, str):
        raise DomainError("invalid", {"field": "text"})
    text = normalise(value)
    if not text:
        raise DomainError("empty")
    if len(text) > MAX_QUESTION:
        raise DomainError("too_long", {"max": MAX_QUESTION})
    return text


def author_name(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise DomainError("invalid", {"field": "name"})
    name = normalise(value)
    if len(name) > MAX_NAME:
        raise DomainError("too_long", {"max": MAX_NAME, "field": "name"})
    return name or None
