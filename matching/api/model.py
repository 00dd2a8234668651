"""``/api/v1/model``: the ranking model in use (admin): version, kind, metrics."""

import marshmallow as ma

from matching import access
from matching.api.core import api_blueprint, roles

bp = api_blueprint("api_model", __name__, "/api/v1/model",
                   description="The ranking model in use (admin).")


class ModelSchema(ma.Schema):
    version = ma.fields.Integer(allow_none=True, metadata={
        "description": "The stored version in use; null when the expert prior ranks."})
    kind = ma.fields.String()
    reason = ma.fields.String(metadata={"description": "Why this model is in use."})
    trained_at = ma.fields.String(allow_none=True)
    decisions = ma.fields.Integer(allow_none=True)
    job_orders = ma.fields.Integer(allow_none=True)
    metrics = ma.fields.Dict()
    stored_versions = ma.fields.List(ma.fields.Integer())


@bp.route("")
@roles(*access.ADMINS)
@bp.response(200, ModelSchema)
def current():
    """The model that ranks candidates now, and its held-out metrics when it was trained."""
    from matching.ranking.service import current_model, model_store

    store = model_store()
    choice = current_model(store)
    model = choice.model
    return {"version": choice.version, "kind": model.kind, "reason": choice.describe(),
            "trained_at": getattr(model, "trained_at", None),
            "decisions": getattr(model, "n_decisions", None),
            "job_orders": getattr(model, "n_job_orders", None),
            "metrics": model.metrics or {},
            "stored_versions": [v["version"] for v in store.versions()]}
