"""The work of each kind of background task. Each function flushes only: ``run_task``
commits its writes together with the task's "finished" state, or none of them.

A function returns the task's result (JSON values, shown on the task's page) or raises
``TaskFailed`` with a message code of ``matching.background.ERRORS``.
"""

import io
import json
from collections import Counter
from datetime import date

from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError

from matching.background import TaskFailed, TaskRun, kind

#: An import that fails shows at most this many of its problems on the task's page.
ERRORS_KEPT = 200


@kind("import")
def run_import(run: TaskRun) -> dict:
    """A checked web import, confirmed: the whole file in one transaction."""
    from matching.operations.imports.runners import RUNNERS

    importer = run.params["importer"]
    filename = run.params.get("filename", "")
    total = run.params.get("rows") or None
    run.progress(0, total, force=True)
    try:
        result = RUNNERS[importer](io.BytesIO(run.payload or b""), filename, run.user,
                                   progress=lambda done: run.progress(done, total))
    except IntegrityError:
        # Another import wrote the same rows meanwhile; the importer has rolled back.
        raise TaskFailed("import_conflict") from None
    if not result.ok:
        # The problems in the language of the user who confirmed, as the preview showed them.
        with force_locale(run.params.get("locale") or "en"):
            problems = [{"line": e.line, "column": e.column, "message": str(e.message)}
                        for e in result.errors[:ERRORS_KEPT]]
        raise TaskFailed("import_rows", result={"errors": problems},
                         num=len(result.errors))
    custom_skills = {str(w.message) for w in result.warnings if w.kind == "custom_skill"}
    return {"importer": importer, "filename": filename, "rows": result.rows,
            "created": result.created, "updated": result.updated,
            "unchanged": result.unchanged, "custom_skills": len(custom_skills)}


@kind("train_model")
def run_training(run: TaskRun) -> dict:
    """``flask model train`` from the admin page: a new stored version, or why not."""
    from matching.ranking.service import NotEnoughDecisions, describe_model, train_model

    try:
        report = train_model()
    except NotEnoughDecisions as exc:
        # Too few decisions is a state, not a failure: nothing stored, the model in use stays.
        return {"stored": False, "n_decisions": exc.n_decisions,
                "n_job_orders": exc.n_job_orders}
    metrics = report.metrics
    return _json({"stored": True, "version": report.version,
                  "description": describe_model(report.model),
                  "n_decisions": metrics["n_decisions"],
                  "n_job_orders": metrics["n_job_orders"],
                  "chosen": metrics.get("chosen", report.model.kind),
                  "held_out": metrics.get("held_out", {})})


@kind("fairness")
def run_fairness(run: TaskRun) -> dict:
    """The fairness report of recent rankings (``ranking.fairness``), for its page."""
    from matching.ranking.fairness import (
        DEFAULT_DAYS,
        DEFAULT_THRESHOLD,
        DEFAULT_TOP,
        exposure_report,
    )

    report = exposure_report(days=int(run.params.get("days", DEFAULT_DAYS)),
                             top=int(run.params.get("top", DEFAULT_TOP)),
                             threshold=float(run.params.get("threshold", DEFAULT_THRESHOLD)))
    return report.to_dict()


@kind("expiry_scan")
def run_expiry_scan(run: TaskRun) -> dict:
    """The daily look at documents of open dispatches that expire soon (``expiry``)."""
    from matching.operations.expiry import expiring_documents

    days = int(run.params.get("days", 30))
    found = expiring_documents(days=days)
    run.progress(len(found), len(found), force=True)
    return {"day": run.params.get("day") or date.today().isoformat(), "days": days,
            "documents": len(found),
            "expired": sum(1 for item in found if item.days_left < 0),
            "before_departure": sum(1 for item in found if item.before_departure),
            "dispatches": len({item.dispatch.id for item in found}),
            "by_kind": dict(Counter(item.kind for item in found))}


def _json(value):
    """``value`` with numpy numbers made plain, as the JSON column stores it."""
    return json.loads(json.dumps(value, default=float))
