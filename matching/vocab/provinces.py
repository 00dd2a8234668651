"""Vietnam's 34 provincial-level units since 2025-07-01, with every former unit mapped.

Data: ``data/vn_provinces_2025.csv`` (code, Vietnamese name, kind, former units). English
and Japanese names are kept here. ``resolve_province`` accepts a code, the current name or
a former unit's name, with or without diacritics, in any case, with or without the
"Tỉnh" / "Thành phố" / "TP." prefix.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

from matching.vocab.folding import fold_key

_EN = {
    "ha-noi": "Hanoi", "hue": "Hue", "lai-chau": "Lai Chau", "dien-bien": "Dien Bien",
    "son-la": "Son La", "lang-son": "Lang Son", "quang-ninh": "Quang Ninh",
    "thanh-hoa": "Thanh Hoa", "nghe-an": "Nghe An", "ha-tinh": "Ha Tinh",
    "cao-bang": "Cao Bang", "tuyen-quang": "Tuyen Quang", "lao-cai": "Lao Cai",
    "thai-nguyen": "Thai Nguyen", "phu-tho": "Phu Tho", "bac-ninh": "Bac Ninh",
    "hung-yen": "Hung Yen", "hai-phong": "Hai Phong", "ninh-binh": "Ninh Binh",
    "quang-tri": "Quang Tri", "da-nang": "Da Nang", "quang-ngai": "Quang Ngai",
    "gia-lai": "Gia Lai", "khanh-hoa": "Khanh Hoa", "lam-dong": "Lam Dong",
    "dak-lak": "Dak Lak", "ho-chi-minh": "Ho Chi Minh City", "dong-nai": "Dong Nai",
    "tay-ninh": "Tay Ninh", "can-tho": "Can Tho", "vinh-long": "Vinh Long",
    "dong-thap": "Dong Thap", "ca-mau": "Ca Mau", "an-giang": "An Giang",
}
_JA = {
    "ha-noi": "ハノイ", "hue": "フエ", "lai-chau": "ライチャウ", "dien-bien": "ディエンビエン",
    "son-la": "ソンラ", "lang-son": "ランソン", "quang-ninh": "クアンニン",
    "thanh-hoa": "タインホア", "nghe-an": "ゲアン", "ha-tinh": "ハティン",
    "cao-bang": "カオバン", "tuyen-quang": "トゥエンクアン", "lao-cai": "ラオカイ",
    "thai-nguyen": "タイグエン", "phu-tho": "フート", "bac-ninh": "バクニン",
    "hung-yen": "フンイエン", "hai-phong": "ハイフォン", "ninh-binh": "ニンビン",
    "quang-tri": "クアンチ", "da-nang": "ダナン", "quang-ngai": "クアンガイ",
    "gia-lai": "ザライ", "khanh-hoa": "カインホア", "lam-dong": "ラムドン",
    "dak-lak": "ダクラク", "ho-chi-minh": "ホーチミン", "dong-nai": "ドンナイ",
    "tay-ninh": "タイニン", "can-tho": "カントー", "vinh-long": "ヴィンロン",
    "dong-thap": "ドンタップ", "ca-mau": "カマウ", "an-giang": "アンザン",
}
# Everyday names that are neither a current nor a former official name.
_ALIASES = {"hcm": "ho-chi-minh", "saigon": "ho-chi-minh", "hochiminhcity": "ho-chi-minh",
            "hanoicity": "ha-noi"}
_PREFIXES = ("thanhpho", "tinh", "tp")


@dataclass(frozen=True)
class Province:
    code: str
    vi: str
    en: str
    ja: str
    kind: str
    former_units: tuple[str, ...]

    def name(self, locale: str) -> str:
        return {"vi": self.vi, "ja": self.ja}.get(locale, self.en)


def _load() -> dict[str, Province]:
    path = Path(__file__).parent / "data" / "vn_provinces_2025.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return {
            row["code"]: Province(
                row["code"], row["name"], _EN[row["code"]], _JA[row["code"]], row["kind"],
                tuple(u.strip() for u in row["former_units"].split(";") if u.strip()),
            )
            for row in csv.DictReader(fh)
        }


PROVINCES: dict[str, Province] = _load()

_LOOKUP: dict[str, str] = dict(_ALIASES)
for _p in PROVINCES.values():
    for _name in (_p.code, _p.vi, _p.en, _p.ja, *_p.former_units):
        _LOOKUP[fold_key(_name)] = _p.code


def resolve_province(text: str | None) -> str | None:
    """The current province code for a code, a current or a former name; ``None`` if unknown."""
    key = fold_key(text)
    if not key:
        return None
    if key in _LOOKUP:
        return _LOOKUP[key]
    for prefix in _PREFIXES:
        if key.startswith(prefix) and key[len(prefix):] in _LOOKUP:
            return _LOOKUP[key[len(prefix):]]
    return None


def province_name(code: str | None, locale: str = "vi") -> str:
    province = PROVINCES.get(code or "")
    return province.name(locale) if province else (code or "")
