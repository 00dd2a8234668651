"""The candidate page's cards, rendered once per process and reused while nothing they show
has changed (issue 11 §6: under load, making and rendering 20 cards was most of the page).

A card's HTML is a function of the job order (as last saved), the trainee (as of its
registry version), the model version, its place in the list (rank, score, whether it meets
the requirements), the job order's decision on the trainee, whether the reader may see the
name, whether the reader is an employer (the wording of the employer's own parts), where
its forms send the reader back, and the language (and the site's path prefix). All of it
is in the key, so a hit is the HTML the page would render now. Two things are not cached:

- the CSRF token of the decision forms: a placeholder in the stored HTML, replaced by the
  request's own token;
- a trainee changed after the pool this worker ranks with (registry version above the
  pool's): its card is made from the newer row, as before, and not kept.

A hit costs no ``Trainee`` load (one query reads the trainees' versions), no ``make_card``
and no rendering. ``CARDS_KEPT`` bounds the memory (a few KB a card).

The ranking of a page (``ranked``: the counts and the items) is kept too, under the
registry version of the pool it ranked (a pool is the registry at one version), the job
order as last saved, the model version and the hidden candidates: while none of them
moves, ranking the same page again gives the same items.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from matching.extensions import db
from matching.i18n import locale_code
from matching.models import Trainee
from matching.web.jobs.cards import build_cards

CARDS_KEPT = 5_000
_CSRF_PLACEHOLDER = "csrf-placeholder-" + secrets.token_hex(16)
_CARD = ('{% from "jobs/_candidate_card.html" import candidate_card with context %}'
         "{{ candidate_card(job, card, next_url) }}")

RANKINGS_KEPT = 2_000

_cards: dict[tuple, str] = {}
_rankings: dict[tuple, object] = {}
#: The newest pool version each ranking was kept for, with what was kept (``carry``).
_latest: dict[tuple, tuple[int, object]] = {}
_lock = threading.Lock()


def clear() -> None:
    """Forget every kept card and ranking (tests)."""
    with _lock:
        _cards.clear()
        _rankings.clear()
        _latest.clear()


def ranked(what: str, job, pool_version: int | None, model_version: int | None,
           options: tuple, compute: Callable[[], object],
           carry: Callable[[object, int], bool] | None = None):
    """``compute()`` (a ranking of ``job`` over the pool of ``pool_version``: counts or a
    page's items), from this process's cache while the pool, job order and model are the
    same; items are handed out as copies of the kept dicts.

    ``carry(kept, older_version)``, when given, says whether what was kept for an older
    pool of the same job order, model and options is still the answer (the trainees
    changed since cannot move it): then it is kept for this pool too, without ranking
    again. A registration elsewhere in the registry thus costs a page the check of the
    few changed trainees, not a new ranking of the pool."""
    if pool_version is None:
        return compute()
    base = (what, job.id, job.updated_at, model_version, options)
    key = (*base, pool_version)
    with _lock:
        kept = _rankings.get(key)
        older = _latest.get(base)
    if kept is None and carry is not None and older is not None \
            and older[0] < pool_version and carry(older[1], older[0]):
        kept = older[1]
        _keep(base, key, pool_version, kept)
    if kept is None:
        kept = compute()
        _keep(base, key, pool_version, kept)
    return [dict(item) for item in kept] if isinstance(kept, list) else kept


def _keep(base: tuple, key: tuple, pool_version: int, kept) -> None:
    with _lock:
        if len(_rankings) >= RANKINGS_KEPT:
            _rankings.clear()
            _latest.clear()
        _rankings[key] = kept
        latest = _latest.get(base)
        if latest is None or latest[0] <= pool_version:
            _latest[base] = (pool_version, kept)


def rendered_cards(job, items: list[dict], decisions: dict[int, str], revealed: set[int], *,
                   next_url: str, model_version: int | None,
                   pool_version: int | None) -> list[Markup]:
    """The HTML of each ranked item's card, in order (``build_cards`` then the
    ``candidate_card`` macro), from this process's cache where it holds them."""
    if not items:
        return []
    ids = [item["trainee_id"] for item in items]
    versions = dict(db.session.execute(
        sa.select(Trainee.id, Trainee.registry_version).where(Trainee.id.in_(ids))).all())
    shared = (request.script_root, locale_code(), job.id, job.updated_at, model_version,
              getattr(current_user, "role", None) == "employer", next_url)

    def key(item: dict, version: int) -> tuple:
        tid = item["trainee_id"]
        return (*shared, tid, version, item.get("rank"), item.get("score"),
                item.get("meets_requirements", True), decisions.get(tid), tid in revealed)

    html: dict[int, str] = {}
    with _lock:
        for item in items:
            tid = item["trainee_id"]
            if tid in versions:
                hit = _cards.get(key(item, versions[tid]))
                if hit is not None:
                    html[tid] = hit
    missing = [item for item in items if item["trainee_id"] in versions
               and item["trainee_id"] not in html]
    if missing:
        trainees: dict[int, Trainee] = {}
        made = build_cards(job, missing, decisions, revealed, loaded=trainees)
        # The versions of the rows the cards were made from (held here: the session's
        # identity map keeps them only while something refers to them).
        loaded = {tid: trainee.registry_version for tid, trainee in trainees.items()}
        present = [item for item in missing if item["trainee_id"] in loaded]
        template = _template()
        fresh = {}
        for item, card in zip(present, made, strict=True):
            context = {"job": job, "card": card, "next_url": next_url,
                       "csrf_token": lambda: _CSRF_PLACEHOLDER}
            current_app.update_template_context(context)
            text = template.render(context)
            tid = item["trainee_id"]
            html[tid] = text
            version = loaded[tid]
            if pool_version is not None and version <= pool_version:
                fresh[key(item, version)] = text
        if fresh:
            with _lock:
                if len(_cards) + len(fresh) > CARDS_KEPT:
                    _cards.clear()
                _cards.update(fresh)
    token = generate_csrf()
    return [Markup(html[item["trainee_id"]].replace(_CSRF_PLACEHOLDER, token))
            for item in items if item["trainee_id"] in html]


def _template():
    """The one-card template, compiled once per application."""
    template = current_app.extensions.get("matching.card_template")
    if template is None:
        template = current_app.jinja_env.from_string(_CARD)
        current_app.extensions["matching.card_template"] = template
    return template
