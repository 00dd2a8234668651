"""The 47 prefectures of Japan: romaji code, Japanese and English names (JIS X 0401 order)."""

from dataclasses import dataclass

from matching.vocab.folding import fold_key


@dataclass(frozen=True)
class Prefecture:
    code: str
    ja: str
    en: str

    def name(self, locale: str) -> str:
        # Vietnamese writes Japanese place names in romaji, as English does.
        return self.ja if locale == "ja" else self.en


_DATA = [
    ("hokkaido", "北海道", "Hokkaido"),
    ("aomori", "青森県", "Aomori"),
    ("iwate", "岩手県", "Iwate"),
    ("miyagi", "宮城県", "Miyagi"),
    ("akita", "秋田県", "Akita"),
    ("yamagata", "山形県", "Yamagata"),
    ("fukushima", "福島県", "Fukushima"),
    ("ibaraki", "茨城県", "Ibaraki"),
    ("tochigi", "栃木県", "Tochigi"),
    ("gunma", "群馬県", "Gunma"),
    ("saitama", "埼玉県", "Saitama"),
    ("chiba", "千葉県", "Chiba"),
    ("tokyo", "東京都", "Tokyo"),
    ("kanagawa", "神奈川県", "Kanagawa"),
    ("niigata", "新潟県", "Niigata"),
    ("toyama", "富山県", "Toyama"),
    ("ishikawa", "石川県", "Ishikawa"),
    ("fukui", "福井県", "Fukui"),
    ("yamanashi", "山梨県", "Yamanashi"),
    ("nagano", "長野県", "Nagano"),
    ("gifu", "岐阜県", "Gifu"),
    ("shizuoka", "静岡県", "Shizuoka"),
    ("aichi", "愛知県", "Aichi"),
    ("mie", "三重県", "Mie"),
    ("shiga", "滋賀県", "Shiga"),
    ("kyoto", "京都府", "Kyoto"),
    ("osaka", "大阪府", "Osaka"),
    ("hyogo", "兵庫県", "Hyogo"),
    ("nara", "奈良県", "Nara"),
    ("wakayama", "和歌山県", "Wakayama"),
    ("tottori", "鳥取県", "Tottori"),
    ("shimane", "島根県", "Shimane"),
    ("okayama", "岡山県", "Okayama"),
    ("hiroshima", "広島県", "Hiroshima"),
    ("yamaguchi", "山口県", "Yamaguchi"),
    ("tokushima", "徳島県", "Tokushima"),
    ("kagawa", "香川県", "Kagawa"),
    ("ehime", "愛媛県", "Ehime"),
    ("kochi", "高知県", "Kochi"),
    ("fukuoka", "福岡県", "Fukuoka"),
    ("saga", "佐賀県", "Saga"),
    ("nagasaki", "長崎県", "Nagasaki"),
    ("kumamoto", "熊本県", "Kumamoto"),
    ("oita", "大分県", "Oita"),
    ("miyazaki", "宮崎県", "Miyazaki"),
    ("kagoshima", "鹿児島県", "Kagoshima"),
    ("okinawa", "沖縄県", "Okinawa"),
]

PREFECTURES: dict[str, Prefecture] = {c: Prefecture(c, ja, en) for c, ja, en in _DATA}

_LOOKUP: dict[str, str] = {}
for _p in PREFECTURES.values():
    _LOOKUP[fold_key(_p.code)] = _p.code
    _LOOKUP[fold_key(_p.ja)] = _p.code
    # 東京都 -> 東京, 大阪府 -> 大阪, 愛知県 -> 愛知 (but 北海道 stays whole).
    if _p.ja[-1] in "都府県":
        _LOOKUP[fold_key(_p.ja[:-1])] = _p.code
# Long vowels written out in Hepburn variants ("Tōkyō", "Toukyou", "Oosaka", "Hyougo").
_LOOKUP.update({"toukyou": "tokyo", "oosaka": "osaka", "kyouto": "kyoto", "hyougo": "hyogo",
                "ooita": "oita", "kouchi": "kochi", "hokkaidou": "hokkaido"})


def resolve_prefecture(text: str | None) -> str | None:
    """A prefecture code from romaji (macrons optional) or Japanese; ``None`` when unknown."""
    key = fold_key(text)
    if key.endswith(("prefecture", "ken")) and key not in _LOOKUP:
        key = key.removesuffix("prefecture").removesuffix("ken")
    return _LOOKUP.get(key)


def prefecture_name(code: str | None, locale: str = "en") -> str:
    pref = PREFECTURES.get(code or "")
    return pref.name(locale) if pref else (code or "")
