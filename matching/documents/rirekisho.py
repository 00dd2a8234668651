"""The Japanese résumé (履歴書) of a trainee, as a two-page A4 PDF.

The layout follows the Ministry of Health, Labour and Welfare's 2021 template (厚生労働省
履歴書様式例): no commute time, dependants or spouse fields, and gender is optional (printed
only for M / F; blank or X leaves it out, as the template allows). Years are Gregorian (西暦),
which the form says in its footnote. The text is Japanese whatever the user's locale: the
reader is a Japanese employer.

The name is printed passport style (``NGUYEN THI ANH TUYET``: diacritics stripped, capitals),
the spelling Japanese employers match against the passport and residence card, with the
Vietnamese spelling in small type under it. Noto Sans JP covers every Vietnamese precomposed
letter, so school names keep their diacritics. The fonts are embedded (subset) so the PDF
renders anywhere.
"""

import re
from datetime import date
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import WrapMode

from matching.vocab import FIELDS, PREFECTURES, PROVINCES, fold
from matching.vocab.skills import skill_label

_FONTS = Path(__file__).parent / "fonts"
_FONT = "NotoSansJP"

# Page geometry in mm (A4 portrait).
_L, _R = 15.0, 195.0
_SPLIT = 150.0  # right edge of the name block and of the address column
_YEAR_W, _MONTH_W = 18.0, 12.0
_ROW_H = 8.0
_BOTTOM = 282.0

_GENDERS = {"M": "男", "F": "女"}
_LANGUAGES = {"ja": "日本語", "ko": "韓国語", "de": "ドイツ語", "en": "英語"}
_PHOTO_CAPTION = ("写真をはる位置", "", "写真をはる必要が", "ある場合", "1.縦 36～40mm",
                  "　横 24～30mm", "2.本人単身胸から上", "3.裏面のりづけ")


def build_rirekisho(trainee, *, today: date | None = None) -> bytes:
    """The rirekisho of ``trainee`` (a ``Trainee`` with skills and certificates) as PDF bytes.

    ``today`` is the 現在 date at the top and the reference for the age (default: today).
    """
    today = today or date.today()
    pdf = _new_pdf()
    pdf.add_page()
    overflow = _page_one(pdf, trainee, today)
    pdf.add_page()
    _page_two(pdf, trainee, today, overflow)
    return bytes(pdf.output())


# -- wording -------------------------------------------------------------------------------


def romaji_name(full_name: str) -> str:
    """Passport-style name: "Nguyễn Thị Ánh Tuyết" -> "NGUYEN THI ANH TUYET"."""
    return fold(full_name).upper()


def japanese_date(value: date) -> str:
    """2026年4月1日 (Gregorian year, no leading zeros)."""
    return f"{value.year}年{value.month}月{value.day}日"


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _number(value: float) -> str:
    return f"{value:g}"


def _field_ja(code: str) -> str:
    field = FIELDS.get(code)
    return field.ja if field else code


def _address(province_code: str) -> str:
    province = PROVINCES.get(province_code)
    if province is None:
        return "ベトナム"
    suffix = "市" if province.kind == "city" else "省"
    return f"ベトナム {province.ja}{suffix}"


def certificate_text(cert) -> str:
    """One 免許・資格 line: "日本語能力試験 N4 合格", "日本語NAT-TEST 4級 合格", ..."""
    level = (cert.level or "").strip().upper()
    outcome = " 合格"
    if cert.test == "JLPT":
        name = "日本語能力試験"
    elif cert.test == "JFT-Basic":
        name = "国際交流基金日本語基礎テスト（JFT-Basic）"
        level = level.removeprefix("JFT-").strip("- ")
    elif cert.test == "NAT-TEST":
        name = "日本語NAT-TEST"
        grade = re.fullmatch(r"([1-5])\s*[QK級]?", level)  # 4Q -> 4級
        level = f"{grade.group(1)}級" if grade else level
    elif cert.test == "J.TEST":
        name, outcome = "J.TEST実用日本語検定", " 認定"
        level = f"{level}級" if level else level  # 準A -> 準A級
    elif cert.test == "TOPIK":
        name = "韓国語能力試験（TOPIK）"
        level = f"{level}級" if level else level
    elif cert.test == "EPS-TOPIK":
        name, outcome = "雇用許可制韓国語能力試験（EPS-TOPIK）", ""
    else:  # a CEFR level is a self-contained statement of ability, not a pass
        name = f"{_LANGUAGES.get(cert.language, cert.language or '')} {cert.test}".strip()
        outcome = " 相当"
    text = f"{name} {level}{outcome}" if level else name
    if cert.score is not None:
        text += f"（{cert.score}点）"
    if cert.expires_on:
        text += f"（有効期限 {japanese_date(cert.expires_on)}）"
    return text


def _declared_level(code: str) -> str:
    if code.startswith("JFT-"):
        return "JFT-Basic " + code.removeprefix("JFT-")
    return code if code.startswith("N") else f"CEFR {code}"


def as_of(trainee, today: date) -> date:
    """The date the registry's facts about school and work were last stated (the record's
    last change): the 年 / 月 of the 学歴・職歴 rows, since the registry keeps no school dates."""
    stamp = trainee.updated_at or trainee.created_at
    return min(stamp.date(), today) if stamp else today


def history_rows(trainee, today: date | None = None) -> list[tuple[str, str, str, str]]:
    """学歴・職歴 rows as (year, month, text, align). Every school and work row carries a year
    and month, that of ``as_of`` (the footnote says so); headings and 以上 carry none, as on
    the printed form."""
    stated = as_of(trainee, today or date.today())
    year, month = str(stated.year), str(stated.month)
    field = _field_ja(trainee.field)
    school = (trainee.school or "").strip()
    training = f"{school}（{field}分野）修了" if school else f"職業訓練（{field}分野）修了"
    years = trainee.experience_years or 0
    work = f"{field}分野 実務経験 通算{_number(years)}年" if years > 0 else "職歴なし"
    return [("", "", "学歴", "C"), (year, month, training, "L"),
            ("", "", "職歴", "C"), (year, month, work, "L"), ("", "", "以上", "R")]


def licence_rows(trainee) -> list[tuple[str, str, str, str]]:
    """免許・資格 rows, oldest first; the declared level when no certificate is recorded."""
    certs = sorted(trainee.certificates,
                   key=lambda c: (c.issued_on is None, c.issued_on or date.min))
    rows = [(str(c.issued_on.year) if c.issued_on else "",
             str(c.issued_on.month) if c.issued_on else "", certificate_text(c), "L")
            for c in certs]
    if not rows:
        level = trainee.japanese_level or "none"
        if level == "none":
            rows.append(("", "", "特になし", "L"))
        else:
            rows.append(("", "", f"日本語レベル（自己申告）{_declared_level(level)}", "L"))
    return rows


def motivation_text(trainee) -> str:
    """The 志望の動機、特技… box: field, skills (their Japanese labels; a custom skill as
    typed) and training hours."""
    lines = [f"希望分野：{_field_ja(trainee.field)}"]
    if trainee.skills:
        lines.append("技能：" + "、".join(skill_label(s.slug, "ja") for s in trainee.skills))
    if trainee.training_hours:
        lines.append(f"訓練時間：{trainee.training_hours}時間")
    return "\n".join(lines)


def wishes_text(trainee) -> str:
    """The 本人希望記入欄 box: preferred prefectures and the date the trainee can start."""
    lines = []
    prefectures = [PREFECTURES[c].ja if c in PREFECTURES else c for c in trainee.prefecture_codes]
    if prefectures:
        lines.append("希望勤務地：" + "、".join(prefectures))
    if trainee.available_from:
        lines.append(f"就労可能日：{japanese_date(trainee.available_from)}")
    # The conventional sentence when the applicant has no particular request.
    return "\n".join(lines) or "貴社の規定に従います。"


# -- drawing -------------------------------------------------------------------------------


def _new_pdf() -> FPDF:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.add_font(_FONT, "", str(_FONTS / "NotoSansJP_400Regular.ttf"))
    pdf.add_font(_FONT, "B", str(_FONTS / "NotoSansJP_700Bold.ttf"))
    pdf.set_auto_page_break(False)
    pdf.set_margins(_L, 15)
    pdf.set_title("履歴書")
    pdf.set_creator("matching")
    pdf.set_lang("ja")
    pdf.set_draw_color(0)
    return pdf


def _text(pdf: FPDF, x: float, y: float, text: str, size: float, *, bold=False,
          align="L", width: float | None = None) -> None:
    """Write ``text`` with its baseline at ``y``; shrink it to fit ``width`` when given."""
    pdf.set_font(_FONT, "B" if bold else "", size)
    if width is not None:
        while size > 6 and pdf.get_string_width(text) > width:
            size -= 0.5
            pdf.set_font_size(size)
    w = pdf.get_string_width(text)
    if align == "R":
        x -= w
    elif align == "C":
        x -= w / 2
    pdf.text(x, y, text)


def _hline(pdf: FPDF, x1: float, x2: float, y: float, *, dotted=False) -> None:
    if dotted:
        pdf.set_dash_pattern(dash=0.4, gap=0.6)
    pdf.line(x1, y, x2, y)
    pdf.set_dash_pattern()


def _frame(pdf: FPDF, x: float, y: float, w: float, h: float) -> None:
    """The thicker outer border of a block, as on the printed form."""
    pdf.set_line_width(0.5)
    pdf.rect(x, y, w, h)
    pdf.set_line_width(0.2)


def _page_one(pdf: FPDF, trainee, today: date) -> list:
    """Draw page 1; return the 学歴・職歴 rows left for page 2."""
    _text(pdf, _L, 24, "履歴書", 20, bold=True)
    _text(pdf, _SPLIT - 2, 24, f"{japanese_date(today)}現在", 10, align="R")
    _photo_box(pdf, 158, 12)

    # ふりがな / 氏名 / 生年月日 (性別 only when given)
    top, kana_h, name_h, birth_h = 30.0, 8.0, 20.0, 11.0
    pdf.set_line_width(0.2)
    _hline(pdf, _L, _SPLIT, top + kana_h, dotted=True)
    _hline(pdf, _L, _SPLIT, top + kana_h + name_h)
    _text(pdf, _L + 2, top + 5.5, "ふりがな", 7)
    if trainee.name_kana:
        _text(pdf, _L + 24, top + 6, trainee.name_kana, 10, width=_SPLIT - _L - 28)
    y = top + kana_h
    _text(pdf, _L + 2, y + 5, "氏名", 8)
    _text(pdf, _L + 24, y + 11, romaji_name(trainee.full_name), 16, width=_SPLIT - _L - 28)
    _text(pdf, _L + 24, y + 17, f"（{trainee.full_name}）", 8, width=_SPLIT - _L - 28)
    y += name_h
    _text(pdf, _L + 2, y + 7, "生年月日", 8)
    born = trainee.date_of_birth
    _text(pdf, _L + 24, y + 7.5,
          f"{japanese_date(born)}生（満 {_age(born, today)} 歳）", 11)
    gender = _GENDERS.get(trainee.gender or "")
    if gender:
        pdf.line(_SPLIT - 30, y, _SPLIT - 30, y + birth_h)
        _text(pdf, _SPLIT - 28, y + 7, "性別", 8)
        _text(pdf, _SPLIT - 12, y + 7.5, gender, 11)
    _frame(pdf, _L, top, _SPLIT - _L, kana_h + name_h + birth_h)

    # 現住所 and 連絡先, each with 電話 / E-mail on the right
    y = top + kana_h + name_h + birth_h + 6
    y = _address_block(pdf, y, "現住所", _address(trainee.province),
                       trainee.phone or "", trainee.email or "")
    _address_block(pdf, y, "連絡先", "", "", "",
                   note="（現住所以外に連絡を希望する場合のみ記入）")
    rows = history_rows(trainee, today)
    capacity = int((_BOTTOM - (y + 34) - _ROW_H) // _ROW_H)
    return _dated_table(pdf, y + 34, "学歴・職歴（各別にまとめて書く）", rows, capacity)


def _photo_box(pdf: FPDF, x: float, y: float) -> None:
    pdf.set_line_width(0.2)
    pdf.set_dash_pattern(dash=0.8, gap=0.6)
    pdf.rect(x, y, 30, 40)
    pdf.set_dash_pattern()
    for i, line in enumerate(_PHOTO_CAPTION):
        _text(pdf, x + 2.5, y + 6 + i * 3.6, line, 6)


def _address_block(pdf: FPDF, y: float, label: str, address: str, phone: str, email: str,
                   note: str = "") -> float:
    kana_h, body_h = 7.0, 20.0
    height = kana_h + body_h
    pdf.set_line_width(0.2)
    _hline(pdf, _L, _SPLIT, y + kana_h, dotted=True)
    pdf.line(_SPLIT, y, _SPLIT, y + height)
    _hline(pdf, _SPLIT, _R, y + height / 2)
    _text(pdf, _L + 2, y + 5, "ふりがな", 7)
    _text(pdf, _L + 2, y + kana_h + 5, f"{label}　〒", 8)
    if note:
        _text(pdf, _L + 24, y + kana_h + 5, note, 7)
    if address:
        _text(pdf, _L + 6, y + kana_h + 13, address, 11, width=_SPLIT - _L - 10)
    _text(pdf, _SPLIT + 2, y + 4.5, "電話", 7)
    _text(pdf, _SPLIT + 2, y + height / 2 + 4.5, "E-mail", 7)
    if phone:
        _text(pdf, _SPLIT + 3, y + 10.5, phone, 9, width=_R - _SPLIT - 5)
    if email:
        _email(pdf, y + height / 2, email, _R - _SPLIT - 5)
    _frame(pdf, _L, y, _R - _L, height)
    return y + height


#: The smallest type an address is printed in: below it, it is hard to copy by hand.
_READABLE = 8.0


def _email(pdf: FPDF, top: float, email: str, width: float) -> None:
    """The e-mail address in its half of the 連絡先 cell: on one line at 9 pt when it fits,
    else broken before the "@" onto two lines, each no smaller than ``_READABLE``."""
    pdf.set_font(_FONT, "", 9)
    if pdf.get_string_width(email) <= width or "@" not in email:
        _text(pdf, _SPLIT + 3, top + 10.5, email, 9, width=width)
        return
    local, domain = email.split("@", 1)
    size = 9.0
    while size > _READABLE and max(pdf.get_string_width(local),
                                   pdf.get_string_width("@" + domain)) > width:
        size -= 0.5
        pdf.set_font_size(size)
    _text(pdf, _SPLIT + 3, top + 8.6, local, size, width=width)
    _text(pdf, _SPLIT + 3, top + 12.4, "@" + domain, size, width=width)


def _wrap(pdf: FPDF, rows, width: float) -> list[tuple[str, str, str, str]]:
    """Split rows whose text is wider than the column into continuation rows."""
    pdf.set_font(_FONT, "", 10)
    out = []
    for year, month, text, align in rows:
        lines = pdf.multi_cell(width, 5, text, dry_run=True, output="LINES") if text else [""]
        out.append((year, month, lines[0], align))
        out.extend(("", "", more, align) for more in lines[1:])
    return out


def _dated_table(pdf: FPDF, y: float, heading: str, rows, capacity: int) -> list:
    """A 年 / 月 / ``heading`` table of ``capacity`` ruled rows; returns rows that did not fit."""
    x_month, x_text = _L + _YEAR_W, _L + _YEAR_W + _MONTH_W
    rows = _wrap(pdf, rows, _R - x_text - 6)
    shown, rest = rows[:capacity], rows[capacity:]
    bottom = y + _ROW_H * (capacity + 1)
    pdf.set_line_width(0.2)
    for i in range(1, capacity + 1):
        _hline(pdf, _L, _R, y + _ROW_H * i)
    pdf.line(x_month, y, x_month, bottom)
    pdf.line(x_text, y, x_text, bottom)
    _text(pdf, _L + _YEAR_W / 2, y + 5.5, "年", 9, align="C")
    _text(pdf, x_month + _MONTH_W / 2, y + 5.5, "月", 9, align="C")
    _text(pdf, (x_text + _R) / 2, y + 5.5, heading, 9, align="C")
    for i, (year, month, text, align) in enumerate(shown, start=1):
        base = y + _ROW_H * i + 5.6
        _text(pdf, _L + _YEAR_W / 2, base, year, 10, align="C")
        _text(pdf, x_month + _MONTH_W / 2, base, month, 10, align="C")
        x = {"L": x_text + 3, "C": (x_text + _R) / 2, "R": _R - 8}[align]
        _text(pdf, x, base, text, 10, align=align)
    _frame(pdf, _L, y, _R - _L, bottom - y)
    return rest


def _text_box(pdf: FPDF, y: float, height: float, heading: str, body: str) -> None:
    _frame(pdf, _L, y, _R - _L, height)
    _text(pdf, _L + 2, y + 5, heading, 8)
    pdf.set_font(_FONT, "", 10)
    pdf.set_xy(_L + 4, y + 9)
    pdf.multi_cell(_R - _L - 8, 6, body, wrapmode=WrapMode.WORD)


def _page_two(pdf: FPDF, trainee, today: date, overflow: list) -> None:
    y = 15.0
    if overflow:  # the history continues only when page 1 was full: no empty rows first
        _dated_table(pdf, y, "学歴・職歴（各別にまとめて書く）", overflow, len(overflow))
        y += _ROW_H * (len(overflow) + 1) + 6
    licences = licence_rows(trainee)
    count = max(6, len(_wrap(pdf, licences, _R - _L - _YEAR_W - _MONTH_W - 6)))
    _dated_table(pdf, y, "免許・資格", licences, count)
    y += _ROW_H * (count + 1) + 6
    footnote_y = 272.0
    if y + 30 + 6 + 25 > footnote_y - 4:
        # A long list of certificates: the two free-text boxes go on a page of their own.
        pdf.add_page()
        y = 15.0
    space = footnote_y - y - 6 - 4
    motivation_h = max(30.0, space * 0.55)
    _text_box(pdf, y, motivation_h, "志望の動機、特技、好きな学科、アピールポイントなど",
              motivation_text(trainee))
    y += motivation_h + 6
    _text_box(pdf, y, max(25.0, footnote_y - 4 - y),
              "本人希望記入欄（特に給料・職種・勤務時間・勤務地・その他についての希望などがあれば記入）",
              wishes_text(trainee))
    _text(pdf, _L, footnote_y + 2, "記入上の注意", 7, bold=True)
    _text(pdf, _L, footnote_y + 6, "1. 年は西暦で記載しています。", 7)
    _text(pdf, _L, footnote_y + 10,
          f"2. この履歴書は登録情報から作成しました（作成日 {japanese_date(today)}）。", 7)
    stated = as_of(trainee, today)
    _text(pdf, _L, footnote_y + 14,
          f"3. 学歴・職歴の年月は、登録情報の記載年月（{stated.year}年{stated.month}月）です"
          "（在学期間は登録されていません）。", 7)
