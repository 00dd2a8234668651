"""``model`` and ``rank``: train, inspect and roll back the ranking model; rank job orders.

The ranking modules import numpy and scipy: they are imported inside these commands so that
every other command (and every web worker) starts without them.
"""

import json

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from matching.extensions import db

model_cli = AppGroup("model", help="Train, inspect and roll back the ranking model.")


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
    db.session.commit()  # the new version, for every host at once
    m = report.metrics
    click.echo(f"decisions used: {m['n_decisions']} on {m['n_job_orders']} labelled job "
               f"orders (read: {report.n_decisions} decisions on {report.n_job_orders} "
               "job orders)")
    click.echo(f"  and {m.get('n_implicit', 0)} shown-but-passed-over candidates (weighted "
               "by position)")
    click.echo(f"held-out NDCG on {m['n_test_job_orders']} job orders left out of fitting:")
    _echo_ndcg(m["held_out"], stored=m.get("chosen", "blend"))
    _echo_by_employer(m.get("by_employer") or {})
    if "hierarchical" in m["held_out"]:
        if m.get("hierarchical"):
            click.echo("the hierarchical model (global weights plus each employer's and "
                       "field's own deviations) ranks the held-out job orders better than "
                       "the global model: keeping it")
        else:
            click.echo("the hierarchical model does not rank the held-out job orders better "
                       "than the global model: keeping the global model")
    if m.get("chosen") in ("learned", "hierarchical"):
        click.echo("the learned model alone ranks the held-out job orders better than the "
                   "blend with the prior: storing the learned model")
    click.echo(f"stored version {report.version}: {describe_model(report.model)}")


def _employer_names(ids) -> dict[int, str]:
    """Organisation names by id (ids of deleted organisations are missing)."""
    from matching.models import Organisation

    ids = [int(i) for i in ids]
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Organisation.id, Organisation.name)
                                   .where(Organisation.id.in_(ids))).all())


def _echo_by_employer(by_employer: dict) -> None:
    """Held-out NDCG@10 per employer with enough held-out job orders: global → own."""
    if not by_employer:
        return
    names = _employer_names(by_employer)
    click.echo("held-out NDCG@10 per employer (global → hierarchical):")
    for key, row in sorted(by_employer.items(), key=lambda item: names.get(int(item[0]), "")):
        cells = [f"{v:.3f}" if v is not None else "-"
                 for v in (row.get("learned"), row.get("hierarchical"))]
        name = names.get(int(key), f"employer {key}")
        click.echo(f"  {name:28} {cells[0]} → {cells[1]}  ({row['n_job_orders']} job orders)")


def _echo_deviations(model, top: int = 5) -> None:
    """The employers whose own weights differ most from the global ones."""
    import numpy as np

    from matching.ranking.hierarchy import largest_deviations

    largest = largest_deviations(model, top)
    if not largest:
        return
    click.echo(f"deviations from the global weights: {len(model.employer_deviations)} "
               f"employer(s), {len(model.field_deviations)} field(s); the largest:")
    names = _employer_names(key for key, _, _ in largest)
    for key, size, deviation in largest:
        order = np.argsort(-np.abs(deviation), kind="stable")[:3]
        parts = ", ".join(f"{model.features[i]} {deviation[i]:+.3f}" for i in order)
        click.echo(f"  {names.get(key, f'employer {key}'):28} |Δ| {size:.3f}: {parts}")


def _echo_ndcg(held_out: dict, stored: str) -> None:
    """Held-out NDCG per model, marking the one that was stored."""
    names = {"learned": "learned", "blend": "blend", "prior": "expert prior",
             "baseline": "skill overlap"}
    if "hierarchical" in held_out:  # trained with per-employer deviations measured too
        names = {"learned": "learned global", "hierarchical": "hierarchical", "blend": "blend",
                 "prior": "expert prior", "baseline": "skill overlap"}
    names[stored] += " (stored)"
    click.echo(f"  {'model':24} {'NDCG@10':>8} {'NDCG@5':>8}")
    for key, label in names.items():
        values = held_out.get(key) or {}
        cells = [f"{v:8.3f}" if v is not None else f"{'-':>8}"
                 for v in (values.get("ndcg@10"), values.get("ndcg@5"))]
        click.echo(f"  {label:24} {cells[0]} {cells[1]}")


@model_cli.command("show")
@click.option("--json", "as_json", is_flag=True,
              help="Print the version in use in the export format (for model import).")
def model_show(as_json):
    """The model in use: version, kind, training date, decisions, metrics and weights."""
    from matching.ranking.model import PRIOR
    from matching.ranking.service import current_model, model_store

    store = model_store()
    choice = current_model(store)
    if as_json:
        if choice.version is None:
            raise click.ClickException(f"no stored model in use ({choice.why()})")
        click.echo(json.dumps(store.export(choice.version), indent=2, sort_keys=True))
        return
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
    _echo_deviations(model)
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
    db.session.commit()  # one transaction: every host ranks with it from now on
    click.echo(f"version {new} (a copy of version {version}) is now in use")
    choice = current_model(store)
    if choice.version is None:
        click.echo(f"warning: ranking uses the expert prior: {choice.why()}", err=True)


@model_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=True))
def model_import(path):
    """Store exported model versions (a `model show --json` file, or a folder of the old
    instance/models/model-NNNN.json files, oldest first) as new versions, the last in use."""
    from pathlib import Path

    from matching.ranking.service import model_store

    source = Path(path)
    files = sorted(source.glob("model-*.json")) if source.is_dir() else [source]
    if not files:
        raise click.ClickException(f"no model-*.json file in {source}")
    store = model_store()
    for file in files:
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
            version = store.import_document(document, source=file.name)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            db.session.rollback()
            raise click.ClickException(f"{file}: {exc}; nothing was imported") from None
        click.echo(f"{file.name} → version {version}")
    db.session.commit()


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
    """Rank the available, consenting trainees for each job order, best first.

    Trainees the job order's requirements exclude (a hard minimum Japanese level, a start
    window) are not ranked; how many is said in the table, and on stderr with json.
    """
    from matching.models import JobOrder
    from matching.ranking.pool import load_pool
    from matching.ranking.service import candidate_counts, current_model, rank_job

    wanted = list(dict.fromkeys(job_ids))
    orders = {o.external_id: o for o in db.session.scalars(
        sa.select(JobOrder).where(JobOrder.external_id.in_(wanted)))}
    unknown = [j for j in wanted if j not in orders]
    if unknown:
        raise click.ClickException(f"unknown job order: {', '.join(unknown)}")
    pool, model = load_pool(), current_model()
    ranked = {j: rank_job(orders[j], top, pool=pool, model=model) for j in wanted}
    counts = {j: candidate_counts(orders[j], pool) for j in wanted}
    if fmt == "json":
        for j in wanted:
            if counts[j].excluded:
                click.echo(f"{j}: {_excluded(counts[j].excluded)}", err=True)
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
        excluded = f" ({_excluded(counts[j].excluded)})" if counts[j].excluded else ""
        click.echo(f"\n{j}: {order.title} ({order.field}): {len(rows)} of "
                   f"{counts[j].shown:,} candidates{excluded}")
        click.echo(f"{'rank':>4}  {'external_id':16} {'province':14} {'score':>8}  "
                   f"{'top contributions':{width}}  missing required skills")
        for item, parts, missing in rows:
            click.echo(f"{item['rank']:>4}  {item['external_id']:16} {item['province']:14} "
                       f"{item['score']:8.3f}  {parts:{width}}  {missing}")


def _excluded(n: int) -> str:
    return (f"{n:,} trainee{'s' if n != 1 else ''} excluded by the job order's requirements")
