"""A word list that flags questions for the moderator. It never hides anything by itself."""
from __future__ import annotations

import re

INSULTS = (
    "arschloch", "idiot", "idioten", "vollidiot", "depp", "trottel", "wichser", "hurensohn",
    "schlampe", "fotze", "missgeburt", "spast", "spasti", "penner", "bastard", "scheiß",
    "scheiss", "fick", "ficken", "verpiss", "asshole", "fuck", "shit", "bitch", "moron",
)
SPAM = re.compile(r"(https?://|www\.|\b[\w.-]+\.(?:com|net|ru|xyz|top|biz)\b|bitcoin|casino|viagra|krypto)", re.I)
_WORDS = re.compile(r"\w+", re.UNICODE)


def flag_for(text: str) -> str | None:
    lowered = text.casefold()
    if any(word.startswith(INSULTS) for word in _WORDS.findall(lowered)):
        return "insult"
    if SPAM.search(text):
        return "spam"
    return None
