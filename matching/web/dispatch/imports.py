"""Bulk stage updates from CSV / XLSX: upload → preview (a dry run) → confirm.

The same three steps as the trainee import (``web.uploads.ImportPages``): nothing moves
before the user has seen every row's move and confirmed; confirm re-reads and re-checks the
file, the dispatches may have moved since the preview. Any bad row → nothing is written.
"""

from flask_babel import gettext as _

from matching import access
from matching.models import EXITS, STAGES
from matching.operations.imports import statuses
from matching.operations.imports.parsing import ImportResult
from matching.web.dispatch import bp
from matching.web.uploads import ImportPages, template_csv, template_xlsx

#: The template's example row.
EXAMPLE = {"trainee_external_id": "T0001", "job_order_external_id": "JO-2026-001",
           "stage": "contracted", "date": "2026-03-02", "note": "",
           "trainee_province": "nghe-an"}


def _done_message(result: ImportResult) -> str:
    return _("Imported %(rows)d rows: %(moves)d moves recorded on %(dispatches)d dispatches, "
             "%(unchanged)d rows already on record.", rows=result.rows, moves=result.created,
             dispatches=result.updated, unchanged=result.unchanged)


PAGES = ImportPages("dispatch", "status_import", "statuses", done_endpoint="board",
                    done_message=_done_message)


@bp.route("/import", methods=["GET", "POST"])
@access.roles_required(*access.DISPATCH_MOVERS)
def import_upload():
    """Upload a file; answer with the preview of a dry run (or every error in it)."""
    return PAGES.upload(columns=statuses.KNOWN_COLUMNS,
                        required=statuses.STATUS_COLUMNS, stage_codes=(*STAGES, *EXITS))


@bp.route("/import/confirm", methods=["POST"])
@access.roles_required(*access.DISPATCH_MOVERS)
def import_confirm():
    """Apply the moves of the file checked by the preview, after checking it again."""
    return PAGES.confirm()


@bp.route("/import/template.csv")
@access.roles_required(*access.DISPATCH_MOVERS)
def import_template():
    """An example CSV: the header row and one row a user can overwrite."""
    return template_csv(statuses.KNOWN_COLUMNS, EXAMPLE, "dispatch-stages-template.csv")


@bp.route("/import/template.xlsx")
@access.roles_required(*access.DISPATCH_MOVERS)
def import_template_xlsx():
    """The Excel template in the user's language: drop-down lists, date cells."""
    return template_xlsx("statuses", "dispatch-stages-template.xlsx")
