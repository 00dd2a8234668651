"""Bulk import of trainees from CSV / XLSX: upload → preview (a dry run) → confirm.

The steps are ``web.uploads.ImportPages`` (see there); confirm re-reads and re-validates the
file: the registry may have changed since the preview.
"""

from flask import abort
from flask_login import current_user

from matching import access
from matching.formats import TRAINEE_REQUIRED
from matching.i18n import locale_code
from matching.operations.imports.trainees import KNOWN_COLUMNS
from matching.vocab import province_name
from matching.web.trainees import bp
from matching.web.uploads import ImportPages, template_csv, template_xlsx

PAGES = ImportPages("trainees", "trainee_import", "trainees")


@bp.route("/import", methods=["GET", "POST"])
@access.roles_required(*access.REGISTRARS)
def import_upload():
    """Upload a file; answer with the preview of a dry run (or every error in it)."""
    _require_import_right()
    return PAGES.upload(required=TRAINEE_REQUIRED, columns=KNOWN_COLUMNS)


@bp.route("/import/confirm", methods=["POST"])
@access.roles_required(*access.REGISTRARS)
def import_confirm():
    """Import the file checked by the preview, after checking it again."""
    _require_import_right()
    return PAGES.confirm()


@bp.route("/import/template.csv")
@access.roles_required(*access.REGISTRARS)
def import_template():
    """An example CSV: the header row and one row a user can overwrite."""
    province = access.import_province_scope(current_user) or "nghe-an"
    example = {
        "external_id": "T0001", "full_name": "Nguyễn Văn An", "date_of_birth": "2002-05-14",
        "gender": "M", "province": province_name(province, "vi"),
        "school": "Trường Cao đẳng Kỹ thuật", "field": "construction",
        "skills": "formwork;rebar", "japanese_level": "N4", "training_hours": "600",
        "experience_years": "1.5", "preferred_prefectures": "aichi;osaka",
        "available_from": "2026-10-01", "email": "an.nguyen@example.org",
        "phone": "0912 345 678", "consent": "yes", "name_kana": "グエン・ヴァン・アン",
    }
    return template_csv(KNOWN_COLUMNS, example, "trainees-template.csv")


@bp.route("/import/template.xlsx")
@access.roles_required(*access.REGISTRARS)
def import_template_xlsx():
    """The Excel template in the user's language: drop-down lists, date cells."""
    province = access.import_province_scope(current_user) or "nghe-an"
    return template_xlsx("trainees", "trainees-template.xlsx",
                         {"province": province_name(province, locale_code())})


def _require_import_right() -> None:
    # A department account without a province has no registry to import into.
    if not access.can_register_trainees(current_user):
        abort(403)
