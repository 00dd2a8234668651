"""Excel (.xlsx) templates of the import formats, in the reader's language (DESIGN §4).

A template is the header row named in the user's language (the first name of each column in
``operations/imports/data/columns.csv``; English keeps the public format's names), an
example row, drop-down lists for the columns with a closed set of values (on a hidden
``lists`` sheet: Excel limits an inline list to 255 characters, the 34 provinces need
more), date cells formatted as dates and identifier / phone cells as text, so that Excel
keeps a leading 0. Every importer reads its template back as it is written.
"""

import io
from collections.abc import Sequence
from datetime import date

from flask_babel import force_locale
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from matching.formulas import neutralise
from matching.labels import charge_kind_label, payer_label, stage_label
from matching.models import ALL_CHARGE_KINDS, EXITS, JOB_STATUSES, PAYERS, STAGES, VISA_TRACKS
from matching.operations.imports import decisions, fees, job_orders, statuses, trainees
from matching.operations.imports.headers import column_label
from matching.vocab import FIELDS, PREFECTURES, PROVINCES, field_name, province_name
from matching.vocab.languages import LEVEL_CHOICES

FORMATS = {"trainees": trainees.KNOWN_COLUMNS, "job_orders": job_orders.KNOWN_COLUMNS,
           "statuses": statuses.KNOWN_COLUMNS, "decisions": decisions.KNOWN_COLUMNS,
           "fees": fees.KNOWN_COLUMNS}
#: Rows of the sheet that get the drop-down lists and the cell formats.
ROWS = 500
_DATE_FORMATS = {"vi": "dd/mm/yyyy", "ja": "yyyy/mm/dd"}
_DATE_COLUMNS = {"date_of_birth", "available_from", "start_date", "date", "decided_at",
                 "paid_on"}
_TEXT_COLUMNS = {"external_id", "trainee_external_id", "job_order_external_id", "phone",
                 "receipt_no"}
_GENDERS = {"vi": ["Nam", "Nữ", "Khác"], "ja": ["男性", "女性", "その他"], "en": ["M", "F", "X"]}
_YES_NO = {"vi": ["có", "không"], "ja": ["はい", "いいえ"], "en": ["yes", "no"]}
_DECISIONS = {"vi": ["Vào danh sách ngắn", "Đã phỏng vấn", "Trúng tuyển", "Không trúng tuyển"],
              "ja": ["候補", "面接済み", "採用", "不採用"],
              "en": ["shortlisted", "interviewed", "selected", "rejected"]}


def _lists(locale: str) -> dict[str, list[str]]:
    """The closed sets of values, column by column, as a user of ``locale`` writes them."""
    with force_locale(locale):
        stages = [str(stage_label(code)) for code in (*STAGES, *EXITS)]
        kinds = [charge_kind_label(code) for code in ALL_CHARGE_KINDS]
        payers = [payer_label(code) for code in PAYERS]
    provinces = sorted(p.name(locale) for p in PROVINCES.values())
    return {
        "field": [f.name(locale) for f in FIELDS.values()],
        "japanese_level": LEVEL_CHOICES, "min_japanese_level": LEVEL_CHOICES,
        "province": provinces, "trainee_province": provinces,
        "gender": _GENDERS[locale], "consent": _YES_NO[locale],
        "language_is_hard": _YES_NO[locale],
        "prefecture": [p.name(locale) for p in PREFECTURES.values()],
        "visa_track": list(VISA_TRACKS), "status": list(JOB_STATUSES),
        "stage": stages, "decision": _DECISIONS[locale],
        "kind": kinds, "payer": payers, "currency": ["VND", "JPY"],
    }


def _examples(locale: str) -> dict[str, dict[str, object]]:
    with force_locale(locale):
        contracted = str(stage_label("contracted"))
        service_fee, worker = charge_kind_label("service_fee"), payer_label("worker")
    return {
        "trainees": {
            "external_id": "T0001", "full_name": "Nguyễn Văn An",
            "date_of_birth": date(2002, 5, 14), "gender": _GENDERS[locale][0],
            "province": province_name("nghe-an", locale),
            "school": "Trường Cao đẳng Kỹ thuật", "field": field_name("construction", locale),
            "skills": "formwork;rebar", "japanese_level": "N4", "training_hours": 600,
            "experience_years": 1.5, "preferred_prefectures": "aichi;osaka",
            "available_from": date(2026, 10, 1), "email": "an.nguyen@example.org",
            "phone": "0912 345 678", "consent": _YES_NO[locale][0],
            "name_kana": "グエン・ヴァン・アン",
        },
        "job_orders": {
            "external_id": "JO-2026-001", "employer": "Sakura Foods Co., Ltd.",
            "title": "Food processing line worker",
            "field": field_name("food_manufacturing", locale),
            "required_skills": "food-hygiene;haccp", "preferred_skills": "packaging",
            "min_japanese_level": "N4", "headcount": 3,
            "prefecture": PREFECTURES["aichi"].name(locale), "monthly_salary_jpy": 215000,
            "start_date": date(2026, 10, 1), "visa_track": "SSW1", "status": "open",
            "language_is_hard": _YES_NO[locale][1], "start_window_days": 30,
        },
        "statuses": {
            "trainee_external_id": "T0001", "job_order_external_id": "JO-2026-001",
            "stage": contracted, "date": date(2026, 3, 2),
            "trainee_province": province_name("nghe-an", locale),
        },
        "fees": {
            "trainee_external_id": "T0001", "job_order_external_id": "JO-2026-001",
            "kind": service_fee, "amount": 15000000, "currency": "VND",
            "paid_on": date(2026, 3, 5), "payer": worker,
            "payee": "Công ty Cổ phần Nhân lực Quốc tế", "receipt_no": "PT-000123",
            "trainee_province": province_name("nghe-an", locale),
        },
        "decisions": {
            "job_order_external_id": "JO-2026-001", "trainee_external_id": "T0001",
            "decision": _DECISIONS[locale][0], "decided_at": date(2026, 3, 2),
            "trainee_province": province_name("nghe-an", locale),
        },
    }


def template_workbook(format_name: str, locale: str, example: dict[str, object] | None = None
                      ) -> bytes:
    """The .xlsx template of ``format_name`` for a reader of ``locale`` (en, vi or ja);
    ``example`` overrides cells of the example row (a department's own province)."""
    locale = locale if locale in ("vi", "ja") else "en"
    columns: Sequence[str] = FORMATS[format_name]
    values = dict(_examples(locale)[format_name], **(example or {}))
    lists = _lists(locale)
    book = Workbook()
    sheet = book.active
    sheet.title = format_name
    hidden = book.create_sheet("lists")
    hidden.sheet_state = "hidden"
    sheet.append([neutralise(column_label(format_name, c, locale)) for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    date_format = _DATE_FORMATS.get(locale, "yyyy-mm-dd")
    list_column = 0
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(14, len(sheet.cell(1, index).value) + 4)
        value = values.get(column, "")
        # Text through ``neutralise``: a cell starting with = + - @ is never a formula.
        sheet.cell(2, index, neutralise(value) if isinstance(value, str) else value)
        if column in _DATE_COLUMNS or column in _TEXT_COLUMNS:
            number_format = date_format if column in _DATE_COLUMNS else "@"
            for row in range(2, ROWS + 1):
                sheet.cell(row, index).number_format = number_format
        choices = lists.get(column)
        if choices:
            list_column += 1
            list_letter = get_column_letter(list_column)
            for row, choice in enumerate(choices, start=1):
                hidden.cell(row, list_column, neutralise(choice))
            validation = DataValidation(
                type="list", formula1=f"lists!${list_letter}$1:${list_letter}${len(choices)}",
                allow_blank=True, showErrorMessage=True, errorStyle="warning")
            validation.add(f"{letter}2:{letter}{ROWS}")
            sheet.add_data_validation(validation)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
