"""The ``flask --app matching`` command groups (DESIGN §4)."""

import subprocess
import sys

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from matching.config import PROJECT_ROOT
from matching.extensions import db
from matching.models import ROLES, Organisation
from matching.operations.accounts import AccountError, create_user

users_cli = AppGroup("users", help="Manage user accounts.")
import_cli = AppGroup("import", help="Import public-format CSV/XLSX files (all-or-nothing).")
demo_cli = AppGroup("demo", help="Demo data for a living local site.")
translate_cli = AppGroup("translate", help="Extract, update and compile translations.")


def register(app) -> None:
    for group in (users_cli, import_cli, demo_cli, translate_cli):
        app.cli.add_command(group)


# -- users ---------------------------------------------------------------------------------


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--org", "org_code", required=True, help="Organisation code.")
@click.option("--name", default="", help="Display name.")
@click.option("--locale", type=click.Choice(["vi", "ja", "en"]), default=None)
@click.password_option(help="Prompted when omitted.")
def users_create(email, role, org_code, name, locale, password):
    """Create a user EMAIL with role R in organisation CODE."""
    org = db.session.scalar(sa.select(Organisation).where(Organisation.code == org_code.lower()))
    if org is None:
        raise click.ClickException(f"no organisation with code {org_code!r}")
    try:
        user = create_user(email, password, role, org, name=name, locale=locale)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {user.email} ({user.role}) in {org.code}")


# -- translate -----------------------------------------------------------------------------

_POT = PROJECT_ROOT / "translations" / "messages.pot"
_TRANSLATIONS = PROJECT_ROOT / "translations"


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True,
                   cwd=PROJECT_ROOT)


@translate_cli.command("extract")
def translate_extract():
    """Extract messages from code and templates into translations/messages.pot."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "--sort-by-file", "--no-wrap",
             "--project", "matching", "-o", str(_POT), "matching", "templates")


@translate_cli.command("update")
def translate_update():
    """Extract, then merge new messages into the vi and ja catalogues."""
    translate_extract.callback()
    _pybabel("update", "-i", str(_POT), "-d", str(_TRANSLATIONS), "--no-wrap",
             "--ignore-obsolete")


@translate_cli.command("compile")
def translate_compile():
    """Compile the catalogues to .mo files (done by make run / make test)."""
    _pybabel("compile", "-d", str(_TRANSLATIONS), "--statistics")

