"""The web's importers by name: each reads a file for a user, as a dry run or for real.

The import pages (``web.uploads.ImportPages``) and the background import task
(``matching.background``) both run them, so a file confirmed in a request and one handed to
a worker are imported the same way. Flush only: the request or the task commits.
"""

from collections.abc import Callable
from typing import BinaryIO

from matching import access
from matching.operations.imports.fees import import_fees
from matching.operations.imports.job_orders import import_job_orders
from matching.operations.imports.parsing import ImportResult, import_file
from matching.operations.imports.statuses import import_statuses
from matching.operations.imports.trainees import import_trainees

#: ``run(stream, filename, user, dry_run=False, progress=None)``.
Runner = Callable[..., ImportResult]


def run_trainees(stream: BinaryIO, filename: str, user, dry_run: bool = False,
                 progress=None) -> ImportResult:
    """Trainees, into the user's province only (a department's)."""
    return import_file(stream, filename, import_trainees, user=user, dry_run=dry_run,
                       province_scope=access.import_province_scope(user), progress=progress)


def run_job_orders(stream: BinaryIO, filename: str, user, dry_run: bool = False,
                   progress=None) -> ImportResult:
    """Job orders: an employer's own; an administrator's of any employer."""
    return import_file(stream, filename, import_job_orders, user=user, dry_run=dry_run,
                       progress=progress)


def run_statuses(stream: BinaryIO, filename: str, user, dry_run: bool = False,
                 progress=None) -> ImportResult:
    """Dispatch stage moves, on the dispatches the user may move."""
    return import_file(stream, filename, import_statuses, user=user, dry_run=dry_run,
                       progress=progress)


def run_fees(stream: BinaryIO, filename: str, user, dry_run: bool = False,
             progress=None) -> ImportResult:
    """Payments of the fee ledger, on the dispatches the user may record on."""
    return import_file(stream, filename, import_fees, user=user, dry_run=dry_run,
                       progress=progress)


RUNNERS: dict[str, Runner] = {
    "trainees": run_trainees,
    "job_orders": run_job_orders,
    "statuses": run_statuses,
    "fees": run_fees,
}
