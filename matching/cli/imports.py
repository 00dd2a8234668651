"""``import``: the public-format CSV / XLSX files, all or nothing."""

import sys

import click
from flask.cli import AppGroup

from matching.cli.transaction import committed
from matching.import_templates import template_workbook
from matching.operations.imports.decisions import import_decisions
from matching.operations.imports.fees import import_fees
from matching.operations.imports.headers import ORDINAL
from matching.operations.imports.job_orders import import_job_orders
from matching.operations.imports.parsing import import_table, read_file
from matching.operations.imports.reading import ImportFileError
from matching.operations.imports.statuses import import_statuses
from matching.operations.imports.trainees import import_trainees

import_cli = AppGroup("import", help="Import public-format CSV/XLSX files (all-or-nothing).")

#: Above this many rows the validation phase shows a progress bar.
PROGRESS_MIN_ROWS = 2000


def _import_command(name: str):
    """Register ``import NAME FILE [--dry-run]``: every import command takes the same, and
    commits once at its end."""
    path = click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
    dry_run = click.option("--dry-run", is_flag=True, help="Validate and count, write nothing.")
    return lambda command: import_cli.command(name)(path(dry_run(committed(command))))


@_import_command("trainees")
def import_trainees_command(path, dry_run):
    """Import trainees from a CSV or XLSX FILE; any bad row and nothing is written."""
    result = _import_file(path, import_trainees, dry_run)
    _echo_counts(result, dry_run)
    _echo_dry_run(dry_run)


@_import_command("job-orders")
def import_job_orders_command(path, dry_run):
    """Import job orders from a CSV or XLSX FILE; unknown employers are created."""
    result = _import_file(path, import_job_orders, dry_run)
    _echo_counts(result, dry_run)
    if result.employers_created:
        verb = "to create" if dry_run else "created"
        names = ", ".join(result.new_employers[:10])
        more = ", ..." if len(result.new_employers) > 10 else ""
        click.echo(f"employers {verb}: {result.employers_created} ({names}{more})")
    _echo_dry_run(dry_run)


@_import_command("decisions")
def import_decisions_command(path, dry_run):
    """Import decisions from a CSV or XLSX FILE; those already on record are skipped."""
    result = _import_file(path, import_decisions, dry_run)
    _echo_counts(result, dry_run, unchanged=True)
    _echo_dry_run(dry_run)


def _import_file(path, import_rows, dry_run):
    """Read FILE and ``import_table`` it with the importer ``import_rows``; on any error print
    each as ``line N, column: reason`` on stderr and exit 1 (nothing is written)."""
    try:
        with open(path, "rb") as stream:
            header, rows, layout = read_file(stream, path, import_rows)
    except ImportFileError as exc:
        raise click.ClickException(f"{path}: {exc.message}") from None
    _echo_layout(layout)
    if len(rows) > PROGRESS_MIN_ROWS:
        with click.progressbar(length=len(rows), label="Checking rows",
                               file=sys.stderr) as bar:
            result = import_table(header, rows, import_rows, layout=layout, dry_run=dry_run,
                                  progress=lambda done: bar.update(done - bar.pos))
    else:
        result = import_table(header, rows, import_rows, layout=layout, dry_run=dry_run)
    # Warnings do not stop the import (a custom skill is kept as typed): said, then applied.
    for warning in result.warnings:
        click.echo(f"warning: line {warning.line}, {warning.column}: {warning.message}",
                   err=True)
    for error in result.errors:
        where = f"line {error.line}, {error.column}" if error.column else f"line {error.line}"
        click.echo(f"{where}: {error.message}", err=True)
    if result.errors:
        click.echo(f"{len(result.errors)} error(s): nothing written.", err=True)
        raise SystemExit(1)
    return result


def _echo_layout(layout) -> None:
    """How a file with headers of its own was read: the rows skipped, each column's field."""
    if layout is None or not layout.own_names:
        return  # the public format: nothing to explain
    click.echo(f"header row: line {layout.line}")
    for line, text in layout.skipped:
        click.echo(f"skipped line {line}: {text}")
    for line, text in layout.footer:
        click.echo(f"left out line {line} (after the data): {text}")
    for name, column in layout.mapping:
        target = "row number, not imported" if column == ORDINAL else column or "not imported"
        click.echo(f"column “{name}” → {target}")


def _echo_counts(result, dry_run: bool, unchanged: bool = False) -> None:
    if dry_run:
        line = f"{result.rows} rows: {result.created} to create, {result.updated} to update"
    else:
        line = f"{result.rows} rows: {result.created} created, {result.updated} updated"
    click.echo(line + (f", {result.unchanged} unchanged" if unchanged else ""))


def _echo_dry_run(dry_run: bool) -> None:
    if dry_run:
        click.echo("dry run: nothing written")


@_import_command("statuses")
def import_statuses_command(path, dry_run):
    """Move dispatches from a CSV or XLSX FILE (trainee_external_id, job_order_external_id,
    stage, date, note); every row goes through the stage rules, all or nothing."""
    result = _import_file(path, import_statuses, dry_run)
    verb = "to write" if dry_run else "written"
    click.echo(f"{result.rows} rows: {result.created} moves {verb} on {result.updated} "
               f"dispatches, {result.unchanged} unchanged")
    _echo_dry_run(dry_run)


@_import_command("fees")
def import_fees_command(path, dry_run):
    """Record payments from a CSV or XLSX FILE (trainee_external_id, job_order_external_id,
    kind, amount, currency, paid_on, payer, payee, receipt_no, note); all or nothing, rows
    already in the ledger are skipped."""
    result = _import_file(path, import_fees, dry_run)
    verb = "to record" if dry_run else "recorded"
    click.echo(f"{result.rows} rows: {result.created} payments {verb} on {result.updated} "
               f"dispatches, {result.unchanged} unchanged")
    _echo_dry_run(dry_run)


@import_cli.command("template")
@click.argument("format_name", metavar="FORMAT",
                type=click.Choice(["trainees", "job-orders", "statuses", "decisions", "fees"]))
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, writable=True))
@click.option("--locale", type=click.Choice(["vi", "ja", "en"]), default="en",
              show_default=True, help="The language of the header row and the lists.")
def import_template_command(format_name, path, locale):
    """Write the Excel (.xlsx) template of FORMAT to FILE: the header row in LOCALE, an
    example row, drop-down lists and date cells."""
    name = format_name.replace("-", "_")
    with open(path, "wb") as out:
        out.write(template_workbook(name, locale))
    click.echo(f"{path}: {format_name} template ({locale})")

