"""Diacritics- and case-insensitive folding for Vietnamese (and other Latin) text."""

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """Lower-case ``text`` and strip diacritics, so "Nguyễn Văn Đức" -> "nguyen van duc".

    Vietnamese đ/Đ is a separate letter, not d plus a mark, so NFD leaves it alone: map it
    explicitly. Whitespace is collapsed so a double space never defeats a search.
    """
    if not text:
        return ""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", stripped).strip().lower()


def fold_key(text: str | None) -> str:
    """``fold`` then drop everything but letters and digits: "Bà Rịa–Vũng Tàu" -> "bariavungtau"."""
    return "".join(c for c in fold(text) if c.isalnum())
