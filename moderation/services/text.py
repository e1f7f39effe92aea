"""Normalising and checking what people type."""
from __future__ import annotations

import re
import unicodedata

import regex
from confusable_homoglyphs.confusables import confusables_data

from .errors import DomainError

MAX_QUESTION = 500
MAX_NAME = 80

# Bidi embeddings/overrides/isolates and marks: they can make a text read differently than it is.
# Zero-width spaces, word joiner and BOM: invisible. (Joiners ZWJ/ZWNJ stay: emoji and scripts need them.)
# Unicode tag characters (U+E0000–E007F) are invisible and can smuggle a hidden text along.
_REMOVED = dict.fromkeys([*map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
                                    "\u200b\u2060\ufeff\u180e"), *range(0xE0000, 0xE0080)])
_WHITESPACE = re.compile(r"\s+")
# What XML 1.0 forbids or discourages, and so what openpyxl would write into an export that Excel
# then offers to "repair": C0 controls but tab and line breaks, DEL and C1 controls (these become a
# space: they stood between words), surrogates and the noncharacters (U+FDD0–U+FDEF and the last
# two code points of every plane, U+FFFF …), which go.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FORBIDDEN = re.compile("[\ud800-\udfff\ufdd0-\ufdef"
                        + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
                        + "]")
# What shows nothing on screen: spaces, format characters, Unicode's default-ignorable code points
# (Hangul fillers U+115F U+1160 U+3164 U+FFA0, variation selectors, …) and the blank Braille cell.
_INVISIBLE = regex.compile(r"[\p{White_Space}\p{Cf}\p{Default_Ignorable_Code_Point}\u2800]*")

# Names the audience must not take: they would read as the organisers speaking. Matched on the
# name folded to plain Latin letters (see staff_claim); stems, so that "Moderatorin",
# "Referenten", "Administrator" count too.
STAFF_STEMS = ("moderat", "admin", "podium", "veranstalt", "referent")


def printable(value: str) -> str:
    """The text without the code points XML forbids (see _FORBIDDEN); tab and line breaks stay,
    other controls become a space.
    Applied at every edge a text comes in by (socket events, forms, the intake API) and again by
    normalise, so that no stored text can break an export."""
    return _FORBIDDEN.sub("", _CONTROLS.sub(" ", value))


def normalise(value: str) -> str:
    """XML-forbidden code points, control, bidi, zero-width and tag characters removed, whitespace
    collapsed, trimmed, then NFC (last, so that a removed character cannot leave a decomposed pair
    behind). Only invisible characters left: empty."""
    kept = (ch for ch in printable(value).translate(_REMOVED) if unicodedata.category(ch) != "Cs")
    value = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in kept)
    value = unicodedata.normalize("NFC", _WHITESPACE.sub(" ", value).strip())
    if is_invisible(value):
        return ""
    return value


def is_invisible(value: str) -> bool:
    """True when the text would show nothing: only blanks, fillers and format characters."""
    return _INVISIBLE.fullmatch(value) is not None


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
    if staff_claim(name):
        raise DomainError("invalid", {"field": "name", "reason": "staff"})
    return name or None


def fold(value: str) -> str:
    """The Latin letters a text looks like: NFKC, accents dropped, every character replaced by
    the Latin letter it can be confused with (Unicode's confusables table, e.g. Cyrillic о → o,
    0 → O), case folded."""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", value))
    letters = []
    for ch in decomposed:
        if unicodedata.category(ch) == "Mn":
            continue
        if not ("a" <= ch.casefold() <= "z"):
            look_alike = confusables_data.get(ch)
            if look_alike and len(look_alike[0]["c"]) == 1 and look_alike[0]["c"].isascii():
                ch = look_alike[0]["c"]
        letters.append(ch)
    return "".join(letters).casefold()


def staff_claim(name: str) -> bool:
    """Whether a name reads as a staff role ("Moderation", "Mоderatiоn" with Cyrillic о,
    "A d m i n", "Referentin")."""
    folded = fold(name)
    words = re.findall(r"[a-z]+", folded)
    joined = "".join(words)
    return any(word.startswith(STAFF_STEMS) for word in words) or joined.startswith(STAFF_STEMS) \
        or any(stem in joined for stem in STAFF_STEMS if stem != "admin")
