"""Payments from CSV / XLSX: upload → preview (a dry run) → confirm, as every import page.

Nothing is recorded before the user has seen every row and confirmed; confirm re-reads and
re-checks the file. Any bad row → nothing is written (``operations.imports.fees``).
"""

from flask_babel import gettext as _

from matching import access
from matching.models import ALL_CHARGE_KINDS, PAYERS
from matching.operations.imports import fees
from matching.operations.imports.parsing import ImportResult
from matching.web.fees import bp
from matching.web.uploads import ImportPages, template_csv, template_xlsx

#: The template's example row.
EXAMPLE = {"trainee_external_id": "T0001", "job_order_external_id": "JO-2026-001",
           "kind": "service_fee", "amount": "15000000", "currency": "VND",
           "paid_on": "2026-03-05", "payer": "worker",
           "payee": "Công ty Cổ phần Nhân lực Quốc tế", "receipt_no": "PT-000123", "note": "",
           "trainee_province": "nghe-an"}


def _done_message(result: ImportResult) -> str:
    return _("Imported %(rows)d rows: %(created)d payments recorded on %(dispatches)d "
             "dispatches, %(unchanged)d rows already in the ledger.", rows=result.rows,
             created=result.created, dispatches=result.updated, unchanged=result.unchanged)


PAGES = ImportPages("fees", "fee_import", "fees", done_endpoint="index",
                    done_message=_done_message)


@bp.route("/import", methods=["GET", "POST"])
@access.roles_required(*access.DISPATCH_MOVERS)
def import_upload():
    """Upload a file; answer with the preview of a dry run (or every error in it)."""
    return PAGES.upload(columns=fees.KNOWN_COLUMNS, required=fees.FEE_COLUMNS,
                        optional=fees.FEE_OPTIONAL_COLUMNS, kinds=ALL_CHARGE_KINDS,
                        payers=PAYERS)


@bp.route("/import/confirm", methods=["POST"])
@access.roles_required(*access.DISPATCH_MOVERS)
def import_confirm():
    """Record the payments of the file checked by the preview, after checking it again."""
    return PAGES.confirm()


@bp.route("/import/template.csv")
@access.roles_required(*access.DISPATCH_MOVERS)
def import_template():
    """An example CSV: the header row and one row a user can overwrite."""
    return template_csv(fees.KNOWN_COLUMNS, EXAMPLE, "fees-template.csv")


@bp.route("/import/template.xlsx")
@access.roles_required(*access.DISPATCH_MOVERS)
def import_template_xlsx():
    """The Excel template in the user's language: drop-down lists, date cells."""
    return template_xlsx("fees", "fees-template.xlsx")
