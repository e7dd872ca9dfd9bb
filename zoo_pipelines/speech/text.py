"""Transcripts and their tokens: the "digits" alphabet (words "0".."9") and the "chars"
alphabet (lower-case letters, apostrophe, space).

>>> normalize_text("Four one FIVE 9", "digits")
'4 1 5 9'
>>> tokens_of(normalize_text("Don’t stop!", "chars"), "chars")[:5]
['d', 'o', 'n', "'", 't']
"""
from __future__ import annotations

import re

DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
CHARS = list(" 'abcdefghijklmnopqrstuvwxyz")


def normalize_text(text: str, alphabet: str) -> str:
    """Reference text in the alphabet's form: digits "4 1 5 9" (digit words accepted),
    chars lower-case letters, apostrophe and single spaces."""
    text = str(text).lower()
    if alphabet == "digits":
        words = re.findall(r"[a-z]+|[0-9]", text)
        out = [str(DIGIT_WORDS.index(w)) if w in DIGIT_WORDS else w for w in words]
        return " ".join(out)
    text = re.sub(r"[^a-z' ]+", " ", text.replace("’", "'"))
    return " ".join(text.split())


def tokens_of(text: str, alphabet: str) -> list[str]:
    return text.split() if alphabet == "digits" else list(text)


def join_tokens(tokens: list[str], alphabet: str) -> str:
    return " ".join(tokens) if alphabet == "digits" else "".join(tokens).strip()
