"""``flask skills list``: the skill vocabulary (DESIGN §3), as a table or as CSV.

The CSV has the columns of ``matching/vocab/data/skills.csv`` (code, field, en, vi, ja,
aliases), so it can be read back by anything that reads that file.
"""

import csv
import sys
import unicodedata

import click
from flask.cli import AppGroup

from matching.vocab.fields import resolve_field
from matching.vocab.skills import skills_for_field

skills_cli = AppGroup("skills", help="The skill vocabulary.")

CSV_COLUMNS = ("code", "field", "en", "vi", "ja", "aliases")


@skills_cli.command("list")
@click.option("--field", "field_text", default=None,
              help="Only this field's skills (its code or its name in en, vi or ja).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table",
              show_default=True)
def list_command(field_text: str | None, fmt: str) -> None:
    """List the vocabulary skills: code, field(s) and the label in en, vi and ja."""
    field = None
    if field_text:
        field = resolve_field(field_text)
        if field is None:
            raise click.BadParameter(f"unknown field {field_text!r}", param_hint="--field")
    skills = skills_for_field(field)
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for s in skills:
            writer.writerow([s.code, ";".join(s.fields), s.en, s.vi, s.ja, "|".join(s.aliases)])
        return
    rows = [("code", "field", "en", "vi", "ja")]
    rows += [(s.code, ";".join(s.fields), s.en, s.vi, s.ja) for s in skills]
    widths = [max(_width(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        cells = [row[i] + " " * (widths[i] - _width(row[i])) for i in range(4)]
        click.echo("  ".join([*cells, row[4]]))
    click.echo(f"{len(skills)} skill(s)")


def _width(text: str) -> int:
    # Wide (CJK) characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
