"""``fees``: the fee ledger's checks (live: the audit), the stored flags' rebuild and the
exchange rates (issue 13 §2)."""

import json
from datetime import date

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from matching.cli.transaction import committed
from matching.operations.errors import OperationError

fees_cli = AppGroup("fees", help="The fee ledger: checks against the law, exchange rates.")


def _scope(province: str | None, agency: str | None) -> sa.Select:
    """Every dispatch (the command line is the system), narrowed to a province (its code or
    name) and an agency (its code); an unknown one is an error, not an empty answer."""
    from matching.extensions import db
    from matching.models import Dispatch, Organisation, Trainee
    from matching.vocab import resolve_province

    stmt = sa.select(Dispatch)
    if province:
        code = resolve_province(province)
        if code is None:
            raise click.BadParameter(f"unknown province {province!r}", param_hint="--province")
        stmt = stmt.where(Dispatch.trainee_id.in_(
            sa.select(Trainee.id).where(Trainee.province == code)))
    if agency:
        agency_id = db.session.scalar(sa.select(Organisation.id).where(
            Organisation.code == agency, Organisation.kind == "agency"))
        if agency_id is None:
            raise click.BadParameter(f"unknown agency code {agency!r}", param_hint="--agency")
        stmt = stmt.where(Dispatch.agency_id == agency_id)
    return stmt


@fees_cli.command("check")
@click.option("--province", help="Only the workers of this province (code or name).")
@click.option("--agency", help="Only the dispatches of this agency (its code).")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--locale", type=click.Choice(["en", "vi", "ja"]), default="en",
              show_default=True, help="The language of titles, sources and explanations.")
def fees_check(province, agency, output, locale):
    """Print every flag of the fee ledgers and contracts: rule, worker, job order, agency,
    amount and limit in yen, legal source and the exchange rates used."""
    from flask_babel import force_locale

    from matching import fees
    from matching.fees.texts import explanation

    stmt = _scope(province, agency)
    with force_locale(locale):
        found = fees.flags(stmt)
        if output == "json":
            click.echo(json.dumps([flag.as_json(locale) for flag in found], ensure_ascii=False,
                                  indent=2))
            return
        if not found:
            click.echo("no flag: every recorded payment and contract passes the checks")
            return
        click.echo(f"{'rule':28} {'trainee':14} {'job order':16} {'agency':14} "
                   f"{'amount JPY':>12} {'limit JPY':>12}")
        for flag in found:
            amount = "" if flag.amount_jpy is None else f"{flag.amount_jpy:,}"
            limit = "" if flag.limit_jpy is None else f"{flag.limit_jpy:,}"
            click.echo(f"{flag.rule_id:28} {flag.facts.trainee_external_id:14} "
                       f"{flag.facts.job_order_external_id:16} {flag.facts.agency or '-':14} "
                       f"{amount:>12} {limit:>12}")
            click.echo(f"    {explanation(flag)}")
            click.echo(f"    source: {flag.rule.source(locale)}")
            for rate in flag.rates:
                click.echo(f"    rate: {rate}")
        click.echo(f"{len(found)} flag(s)")


@fees_cli.command("rebuild")
@click.option("--batch", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="Dispatches recomputed and committed together.")
def fees_rebuild(batch):
    """Recompute the stored flags and totals of every dispatch (the pages read them), in
    batches, each committed. Run it after an upgrade that adds or changes a rule (the
    0015_fee_state migration, a new rules.json); the writes keep them current after."""
    from matching.extensions import db
    from matching.fees.store import rebuild

    def progress(done):
        db.session.commit()
        click.echo(f"{done} dispatch(es) recomputed", err=True)

    try:
        done = rebuild(batch=batch, progress=progress)
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(f"fee flags and totals rebuilt for {done} dispatch(es)")


@fees_cli.command("rate")
@click.argument("currency", type=click.Choice(["VND"]))
@click.argument("valid_on", metavar="DATE", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("rate", metavar="RATE")
@click.option("--source", help="Where the rate comes from (e.g. the State Bank's rate).")
@committed
def fees_rate(currency, valid_on, rate, source):
    """Set the exchange rate of CURRENCY from DATE on: RATE yen per unit (e.g. 0.0059)."""
    from matching.operations.fees import parse_rate, set_rate

    try:
        row = set_rate(None, currency=currency, valid_on=valid_on.date(),
                       rate=parse_rate(rate), source=source)
    except OperationError as exc:
        raise click.ClickException(str(exc.message)) from None
    click.echo(f"1 {row.currency} = {row.rate_to_jpy} JPY from {row.valid_on.isoformat()}")


@fees_cli.command("rates")
def fees_rates():
    """List the exchange rates, newest first."""
    from matching.extensions import db
    from matching.models import ExchangeRate

    rows = db.session.scalars(sa.select(ExchangeRate).order_by(
        ExchangeRate.currency, ExchangeRate.valid_on.desc())).all()
    for row in rows:
        click.echo(f"{row.currency} {row.valid_on.isoformat()} {row.rate_to_jpy} "
                   f"{row.source or ''}".rstrip())
    if not rows:
        click.echo(f"no exchange rate yet (today is {date.today().isoformat()})")
