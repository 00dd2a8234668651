"""The fee ledger on the worker's page: the one place this page reads ``matching.fees``
(issue 13 §1–2, built with the ledger): the worker's charges, the flags of the checks and
what they paid in all, next to the survey average (the rows ``fees.store`` keeps)."""

from dataclasses import dataclass, field

from matching import access, fees
from matching.extensions import db
from matching.fees import store, texts


@dataclass
class WorkerLedger:
    charges: list = field(default_factory=list)
    #: (dispatch id, title, explanation, legal source) of each flag.
    flags: list[tuple[int, str, str, str]] = field(default_factory=list)
    totals: "fees.Totals | None" = None


def worker_ledger(user) -> WorkerLedger:
    """What ``user`` (a worker) paid on their own dispatches, and the checks' flags."""
    dispatches = access.own_dispatches_select(user)
    charges = list(db.session.scalars(access.own_charges_select(user)))
    flags = [(flag.facts.dispatch_id, texts.title(flag), str(texts.explanation(flag)),
              flag.rule.source()) for flag in store.stored_flags(dispatches)]
    totals = store.stored_totals(dispatches)
    return WorkerLedger(charges=charges, flags=flags, totals=totals)


def charges_by_dispatch(ledger: WorkerLedger) -> dict[int, list]:
    out: dict[int, list] = {}
    for charge in ledger.charges:
        out.setdefault(charge.dispatch_id, []).append(charge)
    return out

