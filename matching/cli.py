"""The ``flask --app matching`` command groups (DESIGN §4)."""

import json
import subprocess
import sys

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from matching.config import PROJECT_ROOT
from matching.extensions import db
from matching.models import ORG_KINDS, ROLES, Organisation
from matching.operations.accounts import AccountError, create_user, save_organisation
from matching.operations.demo import DEMO_PASSWORD, DemoError, seed_demo
from matching.operations.imports.decisions import import_decisions
from matching.operations.imports.job_orders import import_job_orders
from matching.operations.imports.parsing import import_table
from matching.operations.imports.reading import ImportFileError, read_table
from matching.operations.imports.statuses import import_statuses
from matching.operations.imports.trainees import import_trainees
from matching.vocab import resolve_province

users_cli = AppGroup("users", help="Manage user accounts.")
orgs_cli = AppGroup("orgs", help="Manage organisations.")
import_cli = AppGroup("import", help="Import public-format CSV/XLSX files (all-or-nothing).")
demo_cli = AppGroup("demo", help="Demo data for a living local site.")
translate_cli = AppGroup("translate", help="Extract, update and compile translations.")
model_cli = AppGroup("model", help="Train, inspect and roll back the ranking model.")
documents_cli = AppGroup("documents", help="Documents of the dispatch pipeline.")


def register(app) -> None:
    for group in (users_cli, orgs_cli, import_cli, demo_cli, translate_cli, model_cli,
                  documents_cli):
        app.cli.add_command(group)
    app.cli.add_command(rank_command)


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


# -- organisations -------------------------------------------------------------------------


@orgs_cli.command("create")
@click.argument("code")
@click.option("--kind", type=click.Choice(ORG_KINDS), required=True)
@click.option("--name", required=True)
@click.option("--province", default=None, help="Province (code or name) of a department or school.")
@click.option("--country", type=click.Choice(["VN", "JP"]), default=None)
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


# -- import --------------------------------------------------------------------------------

#: Above this many rows the validation phase shows a progress bar.
PROGRESS_MIN_ROWS = 2000


def _import_command(name: str):
    """Register ``import NAME FILE [--dry-run]``: every import command takes the same."""
    path = click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
    dry_run = click.option("--dry-run", is_flag=True, help="Validate and count, write nothing.")
    return lambda command: import_cli.command(name)(path(dry_run(command)))


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
            header, rows = read_table(stream, path)
    except ImportFileError as exc:
        raise click.ClickException(f"{path}: {exc.message}") from None
    if len(rows) > PROGRESS_MIN_ROWS:
        with click.progressbar(length=len(rows), label="Checking rows",
                               file=sys.stderr) as bar:
            result = import_table(header, rows, import_rows, dry_run=dry_run,
                                  progress=lambda done: bar.update(done - bar.pos))
    else:
        result = import_table(header, rows, import_rows, dry_run=dry_run)
    for error in result.errors:
        where = f"line {error.line}, {error.column}" if error.column else f"line {error.line}"
        click.echo(f"{where}: {error.message}", err=True)
    if result.errors:
        click.echo(f"{len(result.errors)} error(s): nothing written.", err=True)
        raise SystemExit(1)
    return result


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


# -- documents -----------------------------------------------------------------------------


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


# -- demo ------------------------------------------------------------------------------------


@demo_cli.command("seed")
@click.option("--trainees", "count", type=click.IntRange(0, 100_000), default=300,
              show_default=True, help="How many demo trainees to create or refresh.")
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
    click.echo("demo accounts:")
    for email, role, org_name in report.accounts:
        click.echo(f"  {email:28} {role:11} {org_name}")
    click.echo(f"password for every demo account: {DEMO_PASSWORD}")


# -- model and rank ------------------------------------------------------------------------
# The ranking modules import numpy and scipy: they are imported inside these commands so
# that every other command (and every web worker) starts without them.


@model_cli.command("train")
def model_train():
    """Fit on the latest decision per (job order, trainee) and store a new version.

    A job order is labelled when its decisions have at least two different grades. Below 5
    labelled job orders (or 50 usable pairs) nothing is stored, the current model stays in
    use, and the command says so and exits 0: too few decisions is a state, not a failure.
    """
    from matching.ranking.service import NotEnoughDecisions, describe_model, train_model

    try:
        report = train_model()
    except NotEnoughDecisions as exc:
        click.echo(str(exc))
        return
    m = report.metrics
    click.echo(f"decisions used: {m['n_decisions']} on {m['n_job_orders']} labelled job "
               f"orders (read: {report.n_decisions} decisions on {report.n_job_orders} "
               "job orders)")
    click.echo(f"  and {m.get('n_implicit', 0)} shown-but-passed-over candidates (weighted "
               "by position)")
    click.echo(f"held-out NDCG on {m['n_test_job_orders']} job orders left out of fitting:")
    _echo_ndcg(m["held_out"], stored=m.get("chosen", "blend"))
    if m.get("chosen") == "learned":
        click.echo("the learned model alone ranks the held-out job orders better than the "
                   "blend with the prior: storing the learned model")
    click.echo(f"stored version {report.version}: {describe_model(report.model)}")


def _echo_ndcg(held_out: dict, stored: str) -> None:
    """Held-out NDCG per model, marking the one that was stored."""
    names = {"learned": "learned", "blend": "blend", "prior": "expert prior",
             "baseline": "skill overlap"}
    names[stored] += " (stored)"
    click.echo(f"  {'model':16} {'NDCG@10':>8} {'NDCG@5':>8}")
    for key, label in names.items():
        values = held_out.get(key) or {}
        cells = [f"{v:8.3f}" if v is not None else f"{'-':>8}"
                 for v in (values.get("ndcg@10"), values.get("ndcg@5"))]
        click.echo(f"  {label:16} {cells[0]} {cells[1]}")


@model_cli.command("show")
def model_show():
    """The model in use: version, kind, training date, decisions, metrics and weights."""
    from matching.ranking.model import PRIOR
    from matching.ranking.service import current_model, model_store

    store = model_store()
    choice = current_model(store)
    model = choice.model
    click.echo(f"model in use: {choice.describe()}")
    if choice.version is not None:
        click.echo(f"trained at: {model.trained_at or '-'}")
        click.echo(f"decisions: {model.n_decisions} on {model.n_job_orders} labelled job orders")
        if model.metrics.get("held_out"):
            click.echo("held-out NDCG when trained:")
            _echo_ndcg(model.metrics["held_out"], stored=model.metrics.get("chosen", model.kind))
    click.echo(f"  {'feature':20} {'weight':>8} {'prior':>8}")
    for name, weight, prior in zip(model.features, model.weights, PRIOR.weights, strict=True):
        click.echo(f"  {name:20} {weight:+8.3f} {prior:+8.3f}")
    click.echo(f"  {'bias':20} {model.bias:+8.3f} {PRIOR.bias:+8.3f}")
    versions = [str(v["version"]) for v in store.versions()]
    click.echo(f"stored versions: {', '.join(versions) or 'none'}")


@model_cli.command("rollback")
@click.argument("version", type=int)
def model_rollback(version):
    """Use stored VERSION again: it is copied as the newest version, history is kept."""
    from matching.ranking.service import current_model, model_store

    store = model_store()
    try:
        new = store.rollback(version)
    except LookupError:
        raise click.ClickException(f"no model version {version}") from None
    click.echo(f"version {new} (a copy of version {version}) is now in use")
    choice = current_model(store)
    if choice.version is None:
        click.echo(f"warning: ranking uses the expert prior: {choice.reason}", err=True)


@model_cli.command("fairness")
@click.option("--days", type=click.IntRange(1, 3650), default=90, show_default=True,
              help="Window of impressions, ending now.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many of the cards shown per job order count.")
@click.option("--threshold", type=click.FloatRange(min=0), default=0.8, show_default=True,
              help="Flag groups whose exposure/pool ratio is below this.")
def model_fairness(days, top, threshold):
    """Exposure of provinces and genders in recent rankings against their qualified pool.

    A report: it exits 0 even when groups are flagged.
    """
    from matching.ranking.fairness import exposure_report, format_report

    for line in format_report(exposure_report(days=days, top=top, threshold=threshold)):
        click.echo(line)


@click.command("rank")
@click.argument("job_ids", nargs=-1, required=True, metavar="JOB_EXTERNAL_ID...")
@click.option("--top", type=click.IntRange(min=1), default=50, show_default=True,
              help="How many candidates per job order.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def rank_command(job_ids, top, fmt):
    """Rank the available, consenting trainees for each job order, best first."""
    from matching.models import JobOrder
    from matching.ranking.pool import load_pool
    from matching.ranking.service import current_model, rank_job

    wanted = list(dict.fromkeys(job_ids))
    orders = {o.external_id: o for o in db.session.scalars(
        sa.select(JobOrder).where(JobOrder.external_id.in_(wanted)))}
    unknown = [j for j in wanted if j not in orders]
    if unknown:
        raise click.ClickException(f"unknown job order: {', '.join(unknown)}")
    pool, model = load_pool(), current_model()
    ranked = {j: rank_job(orders[j], top, pool=pool, model=model) for j in wanted}
    if fmt == "json":
        keys = ("external_id", "province", "score", "rank", "explanation")
        click.echo(json.dumps({j: [{k: item[k] for k in keys} for item in items]
                               for j, items in ranked.items()}, ensure_ascii=False))
        return
    click.echo(f"ranked by: {model.describe()}")
    for j in wanted:
        order, rows = orders[j], []
        for item in ranked[j]:
            parts = [f"{c['feature']} {c['contribution']:+.2f}"
                     for c in item["explanation"]["contributions"][:3] if c["contribution"]]
            missing = item["explanation"]["skills"]["missing_required"]
            rows.append((item, ", ".join(parts) or "-", ", ".join(missing) or "-"))
        width = max([len("top contributions"), *(len(r[1]) for r in rows)])
        click.echo(f"\n{j}: {order.title} ({order.field}): {len(rows)} of {len(pool):,} "
                   "candidates")
        click.echo(f"{'rank':>4}  {'external_id':16} {'province':14} {'score':>8}  "
                   f"{'top contributions':{width}}  missing required skills")
        for item, parts, missing in rows:
            click.echo(f"{item['rank']:>4}  {item['external_id']:16} {item['province']:14} "
                       f"{item['score']:8.3f}  {parts:{width}}  {missing}")


# -- translate -----------------------------------------------------------------------------

_POT = PROJECT_ROOT / "translations" / "messages.pot"
_TRANSLATIONS = PROJECT_ROOT / "translations"


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True,
                   cwd=PROJECT_ROOT)


@translate_cli.command("extract")
def translate_extract():
    """Extract messages from code and templates into translations/messages.pot."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "_lp:1c,2", "--sort-by-file",
             "--no-wrap", "--project", "matching", "-o", str(_POT), ".")


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

