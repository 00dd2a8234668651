"""The API against its own OpenAPI document (issue 12): schemathesis generates requests for
every operation from ``/api/v1/openapi.json`` and sends them to the app (WSGI, in the
process), with a token of each role, a bounded number of examples each: no answer may be a
5xx, and every answer must be one the document describes (status code, content type,
headers, body schema).

Half the generated requests name real objects of a small world (a job order, a candidate,
dispatches with a stored file), so operations get past 404 and answer 200, 201, 409, 412,
422... as well. Hypothesis runs derandomised (the same examples on every run) with no
example database, so a failure is reproducible and the suite leaves nothing behind.
"""

import io
import time
import warnings
from datetime import date

import pytest

from matching.extensions import db
from matching.models import Dispatch, JobOrder, Organisation, StatusEvent, Trainee, User
from matching.ranking.pool import clear_memory_cache
from matching.references import candidate_ref
from tests.conftest import _FAST_HASH, add_doc

with warnings.catch_warnings():
    # schemathesis' import-time warnings (its own deprecations) are not the app's concern
    warnings.simplefilter("ignore")
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

#: Examples per operation, role and generation mode (positive: valid by the document;
#: negative: invalid), after a probe of ``PROBE`` examples: a role the operation refuses
#: (403 for every probe) is not sent more.
EXAMPLES = 5
PROBE = 1
ROLES = ("admin", "department", "employer", "agency", "worker")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
PDF = b"%PDF-1.4\n%%EOF\n"


def build_world() -> tuple[dict[str, str], dict[str, object]]:
    """Users of every role with a token each, and the objects path parameters may name:
    ``(tokens by role, path parameter values)``."""
    from werkzeug.datastructures import FileStorage

    from matching.operations.dispatch import add_document
    from matching.operations.tokens import create_token

    def org(kind, **kw):
        made = Organisation(kind=kind, code=f"st-{kind}", name=f"Schemathesis {kind}",
                            country="JP" if kind == "employer" else "VN", **kw)
        db.session.add(made)
        return made

    department = org("department", province="nghe-an")
    employer, agency, platform = org("employer"), org("agency"), org("platform")
    trainees = [Trainee(external_id=f"ST-{n}", full_name=f"Lê Văn {n}", name_folded=f"le van {n}",
                        date_of_birth=date(2000, 1, 1 + n), province="nghe-an",
                        field="food_manufacturing", japanese_level="N4", language_rank=2)
                for n in range(6)]
    db.session.add_all(trainees)
    db.session.flush()
    job = JobOrder(external_id="JO-ST-1", employer=employer, agency=agency, title="Packer",
                   field="food_manufacturing", headcount=3, visa_track="SSW1")
    db.session.add(job)
    db.session.flush()
    dispatch = Dispatch(job_order_id=job.id, trainee_id=trainees[0].id, agency_id=agency.id)
    db.session.add(dispatch)
    trainees[0].status = "in_process"
    db.session.flush()
    db.session.add(StatusEvent(dispatch_id=dispatch.id, to_stage="selected",
                               happened_on=date.today()))
    users = {role: User(email=f"{role}@schemathesis.example", role=role,
                        organisation={"admin": platform, "department": department,
                                      "employer": employer, "agency": agency,
                                      "worker": department}[role],
                        trainee_id=trainees[1].id if role == "worker" else None,
                        password_hash=_FAST_HASH) for role in ROLES}
    db.session.add_all(users.values())
    db.session.commit()
    document = add_document(None, dispatch=dispatch, kind="contract", number="HD-1",
                            issued_on=None, expires_on=None, upload=FileStorage(
                                io.BytesIO(PDF), filename="contract.pdf"))
    add_doc(dispatch, "passport", number="C1234567")
    tokens = {role: create_token(user, "schemathesis")[1] for role, user in users.items()}
    db.session.commit()
    ids = {"job_id": job.id, "ref": candidate_ref(job.id, trainees[2].id),
           "dispatch_id": dispatch.id, "document_id": document.id,
           "trainee_id": trainees[3].id}
    return tokens, ids


@pytest.fixture
def world(app):
    app.config["API_RATE_LIMIT"] = "1000000 per minute"
    clear_memory_cache()
    yield build_world()
    clear_memory_cache()


def test_every_operation_answers_as_documented_for_every_role(app, world):
    tokens, ids = world
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    started, operations, failures = time.monotonic(), 0, []
    sent = {"requests": 0, "refused": []}
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        real = {name: ids[name] for name in (p.name for p in operation.path_parameters)
                if name in ids}
        for role in ROLES:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(generation_mode=mode)
                if real:
                    strategy = st.one_of(strategy, operation.as_strategy(
                        generation_mode=mode, path_parameters=real))
                statuses = _run(strategy, tokens[role], sent, failures, PROBE)
                if statuses == {403}:  # a role that may never use it: a probe is enough
                    sent["refused"].append((operation.label, role))
                    break
                _run(strategy, tokens[role], sent, failures, EXAMPLES)
    elapsed = time.monotonic() - started
    assert operations >= 20
    assert not failures, "\n\n".join(failures[:10])
    print(f"\nschemathesis: {operations} operations × {len(ROLES)} roles, {sent['requests']} "
          f"requests ({len(sent['refused'])} operation-role pairs refused by role) in "
          f"{elapsed:.0f} s")


def _run(strategy, token, sent, failures, examples) -> set[int]:
    """Send ``examples`` cases of ``strategy`` with ``token``, note the failures; the
    statuses answered."""
    statuses = set()

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        sent["requests"] += 1
        try:
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
            statuses.add(response.status_code)
        except (AssertionError, FailureGroup) as failure:  # what the checks raise
            failures.append(f"{case.operation.label}: {failure}\n{case.as_curl_command()}")
        db.session.rollback()  # nothing of the test's own session survives a request

    run()
    return statuses
