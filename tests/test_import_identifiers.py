"""Imports never confirm another tenant's identifiers (issue 8, item 11)."""

import io
from functools import partial

from matching.operations.imports.decisions import import_decisions
from matching.operations.imports.job_orders import import_job_orders
from matching.operations.imports.parsing import import_file
from tests.conftest import messages

#: From a file, as the import pages and the CLI come in.
import_decisions_file = partial(import_file, import_rows=import_decisions)
import_job_orders_file = partial(import_file, import_rows=import_job_orders)

JOBS = ("external_id,employer,title,field,min_japanese_level,headcount,visa_track\n"
        "{id},{employer},Line worker,food_manufacturing,N4,2,SSW1\n")


def jobs_csv(external_id: str, employer: str) -> io.BytesIO:
    return io.BytesIO(JOBS.format(id=external_id, employer=employer).encode())


def test_an_employer_naming_another_employers_job_order_learns_nothing(app, make_org,
                                                                        make_user):
    make_org(kind="employer", code="rival-kk", name="Rival KK")
    assert import_job_orders_file(jobs_csv("JO-RIVAL", "rival-kk"), "jobs.csv").ok
    own = make_org(kind="employer", code="own-kk", name="Own KK")
    user = make_user(role="employer", org=own)

    result = import_job_orders_file(jobs_csv("JO-RIVAL", "own-kk"), "jobs.csv", user=user,
                                    dry_run=True)
    assert messages(result) == [
        (2, "external_id", "The job order ID “JO-RIVAL” cannot be used; choose another ID.")]
    assert "employer" not in messages(result)[0][2]


def test_an_administrator_is_still_told_why(app, make_org, make_user):
    make_org(kind="employer", code="rival-kk", name="Rival KK")
    make_org(kind="employer", code="own-kk", name="Own KK")
    assert import_job_orders_file(jobs_csv("JO-RIVAL", "rival-kk"), "jobs.csv").ok
    result = import_job_orders_file(jobs_csv("JO-RIVAL", "own-kk"), "jobs.csv",
                                    user=make_user(role="admin"), dry_run=True)
    assert "belongs to another employer" in messages(result)[0][2]


def test_a_decision_on_another_employers_job_order_reads_as_unknown(app, make_org, make_user,
                                                                    make_trainee):
    make_org(kind="employer", code="rival-kk", name="Rival KK")
    assert import_job_orders_file(jobs_csv("JO-RIVAL", "rival-kk"), "jobs.csv").ok
    user = make_user(role="employer", org=make_org(kind="employer", code="own-kk"))
    make_trainee(external_id="T1")
    body = ("job_order_external_id,trainee_external_id,decision\n"
            "JO-RIVAL,T1,shortlisted\nJO-NOBODY,T1,shortlisted\n")
    result = import_decisions_file(io.BytesIO(body.encode()), "d.csv", user=user, dry_run=True)
    assert [m[2] for m in messages(result)] == ["Unknown job order “JO-RIVAL”.",
                                                "Unknown job order “JO-NOBODY”."]
