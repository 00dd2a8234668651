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

CERTIFICATE_TESTS = ("JLPT", "JFT-Basic", "NAT-TEST", "J.TEST", "TOPIK", "EPS-TOPIK", "CEFR")

#: J.TEST (実用日本語検定) grades, highest first, and their CEFR rank: the A-D level test
#: certifies 特A to 準D, the E-F level test E and F; the publisher's own JLPT equivalence
#: (A ≈ N1, 準A/B ≈ N2, 準B/C ≈ N3, D/E ≈ N4, F ≈ N5) read through the JLPT's ranks.
JTEST_GRADES: dict[str, int] = {"特A": 5, "A": 5, "準A": 4, "B": 4, "準B": 3, "C": 3,
                                "準C": 3, "D": 2, "準D": 2, "E": 2, "F": 1}
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

    JLPT, JFT-Basic and CEFR levels map directly; NAT-TEST grades 5Q…1Q mirror N5…N1;
    J.TEST grades follow ``JTEST_GRADES``; TOPIK levels 1…6 sit at A1…C2.
    """
    level = (level or "").strip().upper()
    if test == "J.TEST":
        return JTEST_GRADES.get(jtest_grade(level) or "", 0)
    if test == "TOPIK":
        return int(level) if re.fullmatch(r"[1-6]", level) else 0
    if test == "JFT-Basic":
        level = "JFT-" + level.removeprefix("JFT-")
    elif test == "NAT-TEST" and re.fullmatch(r"[1-5]\s*Q", level):
        level = "N" + level[0]
    code = parse_japanese_level(level)
    return japanese_rank(code) if code else 0


def jtest_grade(text: str | None) -> str | None:
    """The J.TEST grade of what was typed ("準a", "特A級", "B"), or None."""
    key = re.sub(r"[\s級]+", "", str(text or "")).upper().replace("PRE-", "準")
    return key if key in JTEST_GRADES else None


def certificate_level_name(test: str, level: str | None) -> str:
    """A certificate's level as its test names it: "JLPT N2", "JFT-Basic A2", "NAT-TEST 3Q",
    "J.TEST 準A", "TOPIK 3", "CEFR B1"; the test alone when no level is recorded."""
    level = (level or "").strip()
    if test == "JFT-Basic":
        level = level.removeprefix("JFT-")
    return f"{test} {level}" if level else test


def declared_level_name(code: str | None) -> str | None:
    """A declared level code as its scale names it ("N4" stays N4, "JFT-A2" → "JFT-Basic A2",
    "B1" → "CEFR B1"); None for no level."""
    if not code or code == "none":
        return None
    if code.startswith("JFT-"):
        return "JFT-Basic " + code.removeprefix("JFT-")
    return code if code.startswith("N") else f"CEFR {code}"
