"""Language levels and their rank on the CEFR scale (DESIGN §3).

Rank: 0 none, 1 A1, 2 A2, 3 B1, 4 B2, 5 C1, 6 C2. JLPT N5 sits at 1, N4 and JFT-Basic A2
at 2, N3 at 3, N2 at 4, N1 at 5 (the usual, conservative reading of the JLPT against CEFR).
"""

import re

#: Canonical Japanese level codes accepted in imports and forms, in ascending order of rank.
JAPANESE_LEVELS: dict[str, int] = {
    "none": 0,
    "A1": 1,
    "N5": 1,
    "A2": 2,
    "N4": 2,
    "JFT-A2": 2,
    "B1": 3,
    "N3": 3,
    "B2": 4,
    "N2": 4,
    "C1": 5,
    "N1": 5,
    "C2": 6,
}

#: Order for pick lists: JLPT first (what employers ask for), then JFT, then CEFR.
LEVEL_CHOICES = ["none", "N5", "N4", "N3", "N2", "N1", "JFT-A2", "A1", "A2", "B1", "B2", "C1", "C2"]

CERTIFICATE_TESTS = ("JLPT", "JFT-Basic", "NAT-TEST", "EPS-TOPIK", "CEFR")
CERTIFICATE_LANGUAGES = ("ja", "ko", "de", "en")

_CLEAN = re.compile(r"[\s_\-.:]+")
_ALIASES = {
    "": "none",
    "none": "none",
    "no": "none",
    "0": "none",
    "khong": "none",
    "なし": "none",
    "jftbasica2": "JFT-A2",
    "jfta2": "JFT-A2",
    "jftbasic": "JFT-A2",
    "jft": "JFT-A2",
}


def parse_japanese_level(text: str | None) -> str | None:
    """The canonical code for what a person typed ("n4", "JLPT N4", "JFT Basic A2"), or None."""
    if text is None:
        return None
    key = _CLEAN.sub("", str(text)).lower()
    if key in _ALIASES:
        return _ALIASES[key]
    if key.startswith("jlpt"):
        key = key[4:]
    if key.startswith("cefr"):
        key = key[4:]
    for code in JAPANESE_LEVELS:
        if code.lower() == key:
            return code
    return None


def japanese_rank(code: str | None) -> int:
    """CEFR rank of a canonical level code (0 when unknown or none)."""
    return JAPANESE_LEVELS.get(code or "none", 0)


def certificate_rank(test: str, level: str | None) -> int:
    """CEFR rank of a certificate's level; 0 when the level means nothing on that scale.

    JLPT, JFT-Basic and CEFR levels map directly; NAT-TEST grades 5Q…1Q mirror N5…N1.
    """
    level = (level or "").strip().upper()
    if test == "JFT-Basic":
        level = "JFT-" + level.removeprefix("JFT-")
    elif test == "NAT-TEST" and re.fullmatch(r"[1-5]\s*Q", level):
        level = "N" + level[0]
    code = parse_japanese_level(level)
    return japanese_rank(code) if code else 0
