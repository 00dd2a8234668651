"""Ids and page numbers beyond 64 bits are a 404 or a clamped page, never a 500 (issue 8,
item 8): the ``int`` URL converter, ``db_id`` for query-string ids and ``paginate``."""

import re

import pytest

from matching.web import params
from tests.conftest import add_job_order, open_dispatch

HUGE = ["max+1", str(2**63), str(2**64), str(10**30), "9" * 5000]


@pytest.fixture
def app_config():
    return {"TRAINEES_PER_PAGE": 2, "JOBS_PER_PAGE": 2, "ADMIN_PER_PAGE": 2}


@pytest.fixture
def admin(make_user):
    return make_user(role="admin", locale="en")


def _id_rules(app):
    return [rule for rule in app.url_map.iter_rules()
            if any(isinstance(c, params.IdConverter) for c in rule._converters.values())]


def test_every_int_argument_uses_the_bounded_converter(app):
    rules = _id_rules(app)
    assert len(rules) >= 15
    plain = [rule.rule for rule in app.url_map.iter_rules()
             if any(type(c).__name__ == "IntegerConverter" for c in rule._converters.values())]
    assert plain == []


def test_big_ids_only_where_the_key_is_a_big_id(app):
    """The 64-bit converter only for dispatches, documents, fee charges and grievances
    (random ``BigId`` keys)."""
    big = {name for rule in app.url_map.iter_rules()
           for name, c in rule._converters.items() if isinstance(c, params.BigIdConverter)}
    assert big == {"dispatch_id", "document_id", "charge_id", "grievance_id"}


def _url(rule, values: dict) -> str:
    url = rule.rule
    for name, converter in rule._converters.items():
        value = values.get(name, "x")  # another kind of argument (a reference): any text
        if value == "max+1":  # just beyond what this argument's id column can hold
            value = str(converter.max + 1)
        url = re.sub(rf"<(?:[a-z]+:)?{name}>", value, url)
    return url


@pytest.mark.parametrize("huge", HUGE)
def test_oversized_ids_in_any_route_are_404(app, client, login, admin, huge):
    login(admin)
    for rule in _id_rules(app):
        names = [name for name, c in rule._converters.items()
                 if isinstance(c, params.IdConverter)]
        # Each id argument oversized in turn (the others a plausible 1), then all of them.
        variants = [{n: (huge if n == name else "1") for n in names} for name in names]
        variants.append(dict.fromkeys(names, huge))
        for values in variants:
            url = _url(rule, values)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method)
                assert response.status_code == 404, (method, url[:120])


def test_largest_database_id_is_still_a_route(app, client, login, admin):
    login(admin)
    # Routes still match at the bound and the database answers "no such row" (on
    # PostgreSQL too, whose INTEGER keys are 32-bit).
    assert client.get(f"/trainees/{params.MAX_ID}").status_code == 404
    assert client.get(f"/jobs/{params.MAX_ID}").status_code == 404
    assert client.get(f"/dispatch/{params.MAX_BIG_ID}").status_code == 404
    assert client.get(f"/dispatch/1/documents/{params.MAX_BIG_ID}/file").status_code == 404


@pytest.mark.parametrize("url", [
    "/admin/users?organisation={n}", "/admin/users/new?organisation={n}",
    "/dispatch/workers?job={n}", "/dispatch/?job={n}&employer={n}",
])
def test_oversized_ids_in_query_strings_are_ignored(client, login, admin, url):
    login(admin)
    for n in (2**64, -(2**64), 10**30):
        assert client.get(url.format(n=n)).status_code == 200


def test_db_id_accepts_only_database_ids():
    assert params.db_id("42") == 42
    for text in ("0", "-1", str(2**31), str(2**63), "x"):
        with pytest.raises(ValueError):
            params.db_id(text)


def _current_page(html: str) -> int | None:
    match = re.search(r'aria-current="page">(\d+)<', html)
    return int(match.group(1)) if match else None


@pytest.fixture
def long_lists(make_org, make_user, make_trainee, admin):
    """Three pages (two per page) of trainees, job orders, organisations (with the admin's)
    and users (with the admin)."""
    for n in range(5):
        employer = make_org(kind="employer")
        make_trainee()
        add_job_order(external_id=f"JO-PAGE-{n}", employer_id=employer.id, title="Welder",
                      field="construction")
        make_user(role="employer", org=employer)


@pytest.mark.parametrize("url", ["/trainees/", "/jobs/", "/admin/organisations",
                                 "/admin/users"])
@pytest.mark.parametrize("page, expected", [
    ("99999999999999999999999", "last"), (str(2**64), "last"), ("4", "last"),
    ("-5", 1), ("0", 1), ("-99999999999999999999999", 1), ("abc", 1), ("2", 2),
])
def test_page_numbers_clamp_to_the_list(client, login, admin, long_lists, url, page,
                                        expected):
    login(admin)
    response = client.get(f"{url}?page={page}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _current_page(html) == (3 if expected == "last" else expected)
    if expected == "last":
        assert 'rel="next"' not in html


@pytest.mark.parametrize("url", ["/dispatch/province", "/dispatch/workers"])
def test_dispatch_lists_clamp_their_page(client, login, admin, make_org, make_trainee,
                                         monkeypatch, url):
    from matching.web.dispatch import overviews

    monkeypatch.setattr(overviews, "PER_PAGE", 1)
    for _ in range(3):
        open_dispatch(make_org, make_trainee)
    login(admin)
    assert _current_page(client.get(f"{url}?page=99999999999999999999999").get_data(
        as_text=True)) == 3
    assert _current_page(client.get(f"{url}?page=-5").get_data(as_text=True)) == 1


def test_paginate_on_an_empty_list_is_page_one(app):
    import sqlalchemy as sa

    from matching.models import Trainee

    with app.test_request_context("/?page=99999999999999999999999"):
        pagination = params.paginate(sa.select(Trainee), per_page=10)
    assert (pagination.page, pagination.items) == (1, [])


def test_last_page():
    assert [params.last_page(n, 10) for n in (0, 1, 10, 11)] == [1, 1, 1, 2]
