"""``demo``: demo data for a living local site."""

import click
from flask.cli import AppGroup

from matching.cli.transaction import committed
from matching.operations.demo import DEMO_PASSWORD, DemoError, seed_demo

demo_cli = AppGroup("demo", help="Demo data for a living local site.")


@demo_cli.command("seed")
@click.option("--trainees", "count", type=click.IntRange(0, 100_000), default=300,
              show_default=True, help="How many demo trainees to create or refresh.")
@committed
def demo_seed(count):
    """Create the demo organisations, users and trainees; running it again changes nothing."""
    try:
        report = seed_demo(trainees=count)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"organisations created: {report.organisations_created}, "
               f"users created: {report.users_created}")
    click.echo(f"trainees: {report.trainees_created} created, "
               f"{report.trainees_updated} updated")
    click.echo(f"job orders: {report.job_orders_created} created, "
               f"{report.job_orders_updated} updated; "
               f"decisions: {report.decisions_created} created")
    click.echo(f"dispatches: {report.dispatches_created} created; "
               f"stage moves: {report.moves}")
    click.echo(f"fee ledgers: {report.charges_created} payments recorded on "
               f"{report.ledgers_created} dispatches")
    click.echo("demo accounts:")
    for email, role, org_name in report.accounts:
        click.echo(f"  {email:28} {role:11} {org_name}")
    click.echo(f"password for every demo account: {DEMO_PASSWORD}")
