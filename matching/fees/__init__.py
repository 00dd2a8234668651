"""Fair recruitment: the fee ledger checked against the law (issue 13 §1–2).

What other features call (the worker's page, grievances, the regional dashboard):

- ``store.stored_flags(stmt)``, ``store.flag_counts(stmt)``, ``store.stored_totals(stmt,
  by=...)``: the flags and what workers paid, as stored per dispatch, for the dispatches a
  ``Select`` of ``Dispatch`` names (scope it with ``matching.access.dispatches_select(user)``
  first): what every page reads;
- ``refresh_dispatches(ids)``: every write that changes a ledger's facts calls it, in its
  transaction (``rebuild()``: every dispatch, ``fees rebuild``);
- ``flags(stmt)``, ``flags_for_dispatch(d)``, ``worker_paid_totals(stmt, by=...)``: the
  same checked live (``fees check``, the audit), next to ``survey_average()``;
- ``register_wage_source(fn)``: the wages workers report, for ``contract_substitution``.

Each runs a fixed number of queries, whatever the number of dispatches. The rules are data
(``data/rules.json``, ``rules``); the checks are ``checks``; writes are
``matching.operations.fees``.
"""

from collections import defaultdict
from datetime import date

import sqlalchemy as sa

from matching.fees.checks import (
    COST_KINDS,
    FEE_KINDS,
    Flag,
    LedgerFacts,
    Totals,
    load_ledgers,
    register_wage_source,
    run_checks,
)
from matching.fees.rules import Rule, rule_ids, rules, survey_average
from matching.fees.store import rebuild, refresh_dispatches
from matching.models import Dispatch

__all__ = ["COST_KINDS", "FEE_KINDS", "Flag", "LedgerFacts", "Rule", "Totals",
           "flags", "flags_for_dispatch", "rebuild", "refresh_dispatches",
           "register_wage_source", "rule_ids", "rules", "survey_average",
           "worker_paid_totals"]


def flags(stmt: sa.Select, *, today: date | None = None) -> list[Flag]:
    """Every flag of the dispatches of ``stmt`` (already scoped by ``access``)."""
    return run_checks(load_ledgers(stmt), today)


def flags_for_dispatch(dispatch: Dispatch, *, today: date | None = None) -> list[Flag]:
    return flags(sa.select(Dispatch).where(Dispatch.id == dispatch.id), today=today)


_KEYS = {"dispatch": lambda f: f.dispatch_id, "trainee": lambda f: f.trainee_id,
         "agency": lambda f: f.agency, "province": lambda f: f.province}


def worker_paid_totals(stmt: sa.Select, by: str | None = None,
                       ledgers: list[LedgerFacts] | None = None
                       ) -> "Totals | dict[object, Totals]":
    """What the workers of ``stmt``'s dispatches paid: one ``Totals`` (``by`` None), or one
    per dispatch id, trainee id, agency code or province code (``by``). ``ledgers``: already
    loaded (``checks.load_ledgers``), to read the database once for flags and totals."""
    ledgers = load_ledgers(stmt) if ledgers is None else ledgers
    if by is None:
        total = Totals()
        for facts in ledgers:
            total.add(facts)
        return total
    key = _KEYS[by]
    out: dict[object, Totals] = defaultdict(Totals)
    for facts in ledgers:
        out[key(facts)].add(facts)
    return dict(out)
