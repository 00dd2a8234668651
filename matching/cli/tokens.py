"""``tokens``: API tokens from the command line (the "API tokens" page does the same)."""

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from matching.cli.transaction import committed
from matching.extensions import db
from matching.models import User
from matching.operations.accounts import normalise_email
from matching.operations.tokens import TokenError, create_token

tokens_cli = AppGroup("tokens", help="Manage API tokens.")


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", default="command line", show_default=True, help="What it is for.")
@click.option("--expires-days", type=int, default=None, help="Days until it expires "
              "(none: never).")
@committed
def tokens_create(email, name, expires_days):
    """Create an API token for the user EMAIL; the token alone is the last line printed."""
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise click.ClickException(f"no user with e-mail {email!r}")
    if not user.is_active:
        raise click.ClickException(f"{user.email} is deactivated: a token would not work")
    try:
        row, token = create_token(user, name, expires_days)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    expiry = f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else "no expiry"
    click.echo(f"API token {row.name!r} for {user.email} ({user.role}), {expiry}.")
    click.echo("It is shown only now: store it safely.")
    click.echo(token)
