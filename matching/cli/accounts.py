"""``users`` and ``orgs``: accounts and organisations."""

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from matching.cli.transaction import committed
from matching.extensions import db
from matching.models import ORG_KINDS, ROLES, Organisation
from matching.operations.accounts import AccountError, create_user, save_organisation
from matching.vocab import resolve_province

users_cli = AppGroup("users", help="Manage user accounts.")
orgs_cli = AppGroup("orgs", help="Manage organisations.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--org", "org_code", required=True, help="Organisation code.")
@click.option("--name", default="", help="Display name.")
@click.option("--locale", type=click.Choice(["vi", "ja", "en"]), default=None)
@click.password_option(help="Prompted when omitted.")
@committed
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


@orgs_cli.command("create")
@click.argument("code")
@click.option("--kind", type=click.Choice(ORG_KINDS), required=True)
@click.option("--name", required=True)
@click.option("--province", default=None, help="Province (code or name) of a department or school.")
@click.option("--country", type=click.Choice(["VN", "JP"]), default=None)
@committed
def orgs_create(code, kind, name, province, country):
    """Create an organisation CODE (e.g. the platform organisation for the first admin)."""
    province_code = None
    if province:
        province_code = resolve_province(province)
        if province_code is None:
            raise click.ClickException(f"unknown province {province!r}")
    try:
        org = save_organisation(None, kind=kind, code=code, name=name,
                                country=country or ("JP" if kind == "employer" else "VN"),
                                province=province_code)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created organisation {org.code} ({org.kind})")


@orgs_cli.command("list")
def orgs_list():
    """List organisations: code, kind, province, name."""
    for org in db.session.scalars(sa.select(Organisation).order_by(Organisation.kind,
                                                                   Organisation.code)):
        click.echo(f"{org.code:32} {org.kind:11} {org.province or '-':14} {org.name}")
