"""``documents``: the documents of the dispatch pipeline."""

import click
from flask.cli import AppGroup

documents_cli = AppGroup("documents", help="Documents of the dispatch pipeline.")


@documents_cli.command("expiring")
@click.option("--days", type=click.IntRange(min=0), default=30, show_default=True,
              help="Report documents expiring within this many days.")
def documents_expiring(days):
    """Documents of open dispatches expiring within DAYS days or before the departure."""
    from matching.operations.expiry import expiring_documents

    rows = expiring_documents(days=days)
    if not rows:
        click.echo(f"no document of an open dispatch expires within {days} days or before "
                   "its departure")
        return
    click.echo(f"{'trainee':16} {'job order':20} {'kind':20} {'number':16} {'expires':10} "
               f"{'days left':>9}  before departure")
    for row in rows:
        click.echo(f"{row.dispatch.trainee.external_id:16} "
                   f"{row.dispatch.job_order.external_id:20} {row.kind:20} "
                   f"{row.number or '-':16} {row.expires_on.isoformat():10} "
                   f"{row.days_left:>9}  {'yes' if row.before_departure else 'no'}")
