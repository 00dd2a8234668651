"""The dispatch state machine: moves, documents per move, trainee status, audit trail."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from matching.extensions import db
from matching.models import EXITS, STAGES, Document, JobOrder, StatusEvent
from matching.operations.dispatch import (
    EXIT_FROM,
    FORWARD,
    AuditTrailError,
    DispatchError,
    StaleDispatch,
    allowed_moves,
    check_move,
    create_dispatch,
    missing_documents,
    move_dispatch,
    update_dispatch,
)
from tests.conftest import add_all_documents, add_doc, open_dispatch

TODAY = date.today()


def events_of(dispatch) -> list[StatusEvent]:
    return list(db.session.scalars(sa.select(StatusEvent).where(
        StatusEvent.dispatch_id == dispatch.id).order_by(StatusEvent.id)))


@pytest.fixture
def dispatch_at(make_org, make_trainee, agency):
    def make(stage="selected", documents=True, **kw):
        dispatch = open_dispatch(make_org, make_trainee, stage=stage, agency=agency, **kw)
        if documents:
            add_all_documents(dispatch)
        return dispatch

    return make


# -- moves ------------------------------------------------------------------------------------

ALLOWED = sorted({(a, b) for a, b in FORWARD.items()} |
                 {(a, exit_) for exit_, sources in EXIT_FROM.items() for a in sources})


def test_the_rules_cover_every_stage():
    assert FORWARD["selected"] == "contracted" and FORWARD["deployed"] == "completed"
    assert "completed" not in FORWARD
    assert EXIT_FROM["withdrawn"] == STAGES[:-1]
    assert EXIT_FROM["denied"] == ("coe_applied", "visa_applied")
    assert EXIT_FROM["early_return"] == ("deployed",)


@pytest.mark.parametrize(("from_stage", "to_stage"), ALLOWED)
def test_every_allowed_move(dispatch_at, agent, from_stage, to_stage):
    dispatch = dispatch_at(from_stage)
    assert to_stage in allowed_moves(dispatch, agent)
    event = move_dispatch(dispatch, to_stage, agent, expected_version=1, note=" on  time ")
    db.session.expire_all()
    assert dispatch.stage == to_stage and dispatch.version == 2
    events = events_of(dispatch)
    assert len(events) == 2 and events[-1].id == event.id
    assert (event.from_stage, event.to_stage) == (from_stage, to_stage)
    assert event.by_id == agent.id and event.happened_on == TODAY and event.at is not None
    assert event.note == "on time"


FORBIDDEN = [
    ("selected", "training"),          # skip
    ("coe_applied", "visa_applied"),   # skip
    ("training", "contracted"),        # backwards
    ("deployed", "selected"),          # backwards
    ("visa_issued", "visa_issued"),    # same
    ("selected", "denied"),            # exit from the wrong stage
    ("training", "early_return"),      # exit from the wrong stage
    ("visa_issued", "denied"),
    ("completed", "withdrawn"),        # from completed
    ("withdrawn", "contracted"),       # from an exit
    ("denied", "withdrawn"),
    ("selected", "on_hold"),           # unknown
]


@pytest.mark.parametrize(("from_stage", "to_stage"), FORBIDDEN)
def test_forbidden_moves_are_refused_and_write_nothing(dispatch_at, agent, from_stage,
                                                       to_stage):
    dispatch = dispatch_at(from_stage)
    assert to_stage not in allowed_moves(dispatch, agent)
    with pytest.raises(DispatchError) as refused:
        move_dispatch(dispatch, to_stage, agent, expected_version=1)
    assert refused.value.code in ("not_allowed", "closed")
    assert str(refused.value.message)
    db.session.expire_all()
    assert dispatch.stage == from_stage and dispatch.version == 1
    assert len(events_of(dispatch)) == 1


def test_refusals_say_what_to_do(dispatch_at, agent):
    with pytest.raises(DispatchError, match="after “Selected” comes “Contract signed”"):
        check_move(dispatch_at("selected"), "training", agent)
    with pytest.raises(DispatchError, match="closed"):
        check_move(dispatch_at("completed"), "withdrawn", agent)
    with pytest.raises(DispatchError, match="does not go back"):
        check_move(dispatch_at("training"), "contracted", agent)


def test_no_skipping_even_for_an_admin(dispatch_at, make_user):
    admin = make_user(role="admin")
    with pytest.raises(DispatchError):
        check_move(dispatch_at("selected"), "coe_applied", admin)


def test_only_the_agency_or_an_admin_moves(dispatch_at, agent, make_user, make_org):
    dispatch = dispatch_at("selected")
    other = make_user(role="agency")
    assert allowed_moves(dispatch, agent) == ["contracted", "withdrawn"]
    assert allowed_moves(dispatch, make_user(role="admin")) == ["contracted", "withdrawn"]
    for user in (other, make_user(role="employer"), make_user(role="department")):
        assert allowed_moves(dispatch, user) == []
        with pytest.raises(DispatchError) as refused:
            move_dispatch(dispatch, "contracted", user, expected_version=1)
        assert refused.value.code == "forbidden"
    assert len(events_of(dispatch)) == 1
    # The system (CLI) is admin-level.
    move_dispatch(dispatch, "contracted", None, expected_version=1)
    assert events_of(dispatch)[-1].by_id is None


def test_dates_of_a_step(dispatch_at, agent):
    dispatch = dispatch_at("selected", since=5)
    with pytest.raises(DispatchError, match="in the future") as refused:
        move_dispatch(dispatch, "contracted", agent, expected_version=1,
                      happened_on=TODAY + timedelta(days=3))
    assert refused.value.code == "bad_date" and refused.value.field == "happened_on"
    with pytest.raises(DispatchError, match="before the previous step"):
        move_dispatch(dispatch, "contracted", agent, expected_version=1,
                      happened_on=TODAY - timedelta(days=6))
    event = move_dispatch(dispatch, "contracted", agent, expected_version=1,
                          happened_on=TODAY - timedelta(days=2))
    assert event.happened_on == TODAY - timedelta(days=2)


def test_a_long_note_is_refused(dispatch_at, agent):
    with pytest.raises(DispatchError) as refused:
        move_dispatch(dispatch_at(), "contracted", agent, expected_version=1, note="x" * 1001)
    assert refused.value.field == "note"


# -- documents per move ---------------------------------------------------------------------


@pytest.mark.parametrize(("from_stage", "to_stage", "kinds"), [
    ("coe_applied", "coe_issued", ("coe",)),
    ("coe_issued", "visa_applied", ("passport",)),
    ("visa_applied", "visa_issued", ("visa",)),
    ("visa_issued", "departed", ("flight", "passport", "visa")),
])
def test_a_move_needs_its_documents(dispatch_at, agent, from_stage, to_stage, kinds):
    dispatch = dispatch_at(from_stage, documents=False)
    assert missing_documents(dispatch, to_stage) == list(kinds)
    with pytest.raises(DispatchError) as refused:
        move_dispatch(dispatch, to_stage, agent, expected_version=1)
    assert refused.value.code == "missing_document"
    for kind in kinds:
        add_doc(dispatch, kind)
    assert missing_documents(dispatch, to_stage) == []
    move_dispatch(dispatch, to_stage, agent, expected_version=1)
    assert dispatch.stage == to_stage


def test_an_incomplete_document_does_not_count(dispatch_at, agent):
    dispatch = dispatch_at("coe_applied", documents=False)
    add_doc(dispatch, "coe", number=None)
    with pytest.raises(DispatchError, match="COE, with its number and issue date") as refused:
        check_move(dispatch, "coe_issued", agent)
    assert refused.value.code == "missing_document"


def test_a_flight_number_alone_is_enough(dispatch_at, agent):
    dispatch = dispatch_at("visa_issued", documents=False)
    for kind in ("passport", "visa"):
        add_doc(dispatch, kind)
    db.session.add(Document(dispatch_id=dispatch.id, kind="flight", number="VN300"))
    db.session.commit()
    check_move(dispatch, "departed", agent)


def test_a_document_expiring_before_the_planned_departure_refuses(dispatch_at, agent):
    departure = TODAY + timedelta(days=60)
    dispatch = dispatch_at("visa_applied", documents=False, planned_departure=departure)
    add_doc(dispatch, "visa", number="V123", expires_on=TODAY + timedelta(days=30))
    with pytest.raises(DispatchError) as refused:
        move_dispatch(dispatch, "visa_issued", agent, expected_version=1)
    message = str(refused.value.message)
    assert refused.value.code == "expired_document"
    assert "Visa V123 expires on" in message and "before the planned departure" in message
    assert (TODAY + timedelta(days=30)).strftime("%Y") in message
    assert missing_documents(dispatch, "visa_issued") == ["visa"]
    # The renewed visa counts: the longest-valid document of a kind is the one checked.
    add_doc(dispatch, "visa", number="V124", expires_on=departure + timedelta(days=365))
    move_dispatch(dispatch, "visa_issued", agent, expected_version=1)


def test_without_a_planned_departure_today_is_the_reference(dispatch_at, agent):
    dispatch = dispatch_at("coe_issued", documents=False)
    add_doc(dispatch, "passport", number="P1", expires_on=TODAY - timedelta(days=1))
    with pytest.raises(DispatchError, match="P1 expired on") as refused:
        check_move(dispatch, "visa_applied", agent)
    assert refused.value.code == "expired_document"
    add_doc(dispatch, "passport", number="P2", expires_on=TODAY + timedelta(days=1))
    check_move(dispatch, "visa_applied", agent)


def test_a_document_without_a_number_is_named_cleanly(dispatch_at, agent):
    """A flight ticket may have only its date: no empty slot where the number would go."""
    departure = TODAY + timedelta(days=60)
    dispatch = dispatch_at("visa_issued", documents=False, planned_departure=departure)
    for kind in ("passport", "visa"):
        add_doc(dispatch, kind)
    add_doc(dispatch, "flight", number=None, expires_on=TODAY + timedelta(days=30))
    with pytest.raises(DispatchError) as refused:
        check_move(dispatch, "departed", agent)
    message = str(refused.value.message)
    assert message.startswith("The document “Flight ticket” expires on ")
    assert "before the planned departure" in message
    assert "  " not in message and "None" not in message
    dispatch = dispatch_at("visa_issued", documents=False)
    for kind in ("passport", "visa"):
        add_doc(dispatch, kind)
    add_doc(dispatch, "flight", number=None, expires_on=TODAY - timedelta(days=1))
    with pytest.raises(DispatchError, match="^The document “Flight ticket” expired on "):
        check_move(dispatch, "departed", agent)


def test_the_planned_departure_given_with_the_move_is_checked(dispatch_at, agent):
    dispatch = dispatch_at("visa_applied", documents=False)
    add_doc(dispatch, "visa", expires_on=TODAY + timedelta(days=30))
    with pytest.raises(DispatchError):
        move_dispatch(dispatch, "visa_issued", agent, expected_version=1,
                      planned_departure=TODAY + timedelta(days=40))
    assert dispatch.planned_departure is None
    move_dispatch(dispatch, "visa_issued", agent, expected_version=1,
                  planned_departure=TODAY + timedelta(days=20))
    assert dispatch.planned_departure == TODAY + timedelta(days=20)


def test_every_missing_document_is_named(dispatch_at, agent):
    dispatch = dispatch_at("visa_issued", documents=False)
    with pytest.raises(DispatchError) as refused:
        check_move(dispatch, "departed", agent)
    message = str(refused.value.message)
    assert "flight" in message and "passport" in message and "visa" in message


# -- the trainee follows ----------------------------------------------------------------------


@pytest.mark.parametrize(("from_stage", "to_stage", "status"), [
    ("selected", "contracted", "in_process"),
    ("visa_issued", "departed", "in_process"),
    ("departed", "deployed", "deployed"),
    ("deployed", "completed", "returned"),
    ("deployed", "early_return", "returned"),
    ("training", "withdrawn", "available"),
    ("coe_applied", "denied", "available"),
    ("visa_applied", "denied", "available"),
    ("departed", "withdrawn", "returned"),
])
def test_trainee_status_follows_the_dispatch(dispatch_at, agent, from_stage, to_stage, status):
    dispatch = dispatch_at(from_stage)
    if from_stage == "deployed":
        dispatch.trainee.status = "deployed"
        db.session.commit()
    move_dispatch(dispatch, to_stage, agent, expected_version=dispatch.version)
    db.session.expire_all()
    assert dispatch.trainee.status == status


def test_a_worker_never_has_a_second_open_dispatch(dispatch_at, agent, make_org):
    """The database refuses it (issue 8): withdrawing the one open dispatch frees the
    worker for the pools, and only then can another dispatch open."""
    first = dispatch_at("training")
    with pytest.raises(IntegrityError):
        open_dispatch(make_org, None, trainee=first.trainee)
    db.session.rollback()
    move_dispatch(first, "withdrawn", agent, expected_version=1)
    assert first.trainee.status == "available"
    second = open_dispatch(make_org, None, trainee=first.trainee)
    assert second.is_open and first.trainee.status == "in_process"


def test_create_dispatch_opens_at_selected(make_org, make_trainee, make_user):
    agency = make_org(kind="agency")
    employer = make_org(kind="employer")
    job = JobOrder(external_id="JO-CREATE", employer_id=employer.id, agency_id=agency.id,
                   title="Cook", field="food_service")
    db.session.add(job)
    trainee = make_trainee()
    user = make_user(role="employer", org=employer)
    dispatch = create_dispatch(job, trainee, user)
    assert dispatch.stage == "selected" and dispatch.version == 1
    assert trainee.status == "in_process"
    assert [(e.from_stage, e.to_stage, e.by_id) for e in events_of(dispatch)] == [
        (None, "selected", user.id)]


# -- the audit trail --------------------------------------------------------------------------


def test_one_event_per_move_with_who_and_when(dispatch_at, agent, make_user):
    admin = make_user(role="admin")
    dispatch = dispatch_at("selected")
    move_dispatch(dispatch, "contracted", agent, expected_version=1, note="signed")
    move_dispatch(dispatch, "training", admin, expected_version=2)
    move_dispatch(dispatch, "withdrawn", agent, expected_version=3, note="family reasons")
    events = events_of(dispatch)
    assert [(e.from_stage, e.to_stage, e.by_id, e.note) for e in events[1:]] == [
        ("selected", "contracted", agent.id, "signed"),
        ("contracted", "training", admin.id, None),
        ("training", "withdrawn", agent.id, "family reasons"),
    ]
    assert all(e.at is not None and e.happened_on == TODAY for e in events[1:])


def test_status_events_cannot_be_updated_or_deleted(dispatch_at, agent):
    dispatch = dispatch_at("selected")
    move_dispatch(dispatch, "contracted", agent, expected_version=1, note="signed")
    db.session.commit()  # as the request would
    event = events_of(dispatch)[-1]
    event.note = "rewritten"
    with pytest.raises(AuditTrailError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(event)
    with pytest.raises(AuditTrailError):
        db.session.commit()
    db.session.rollback()
    for statement in (sa.update(StatusEvent).values(note="bulk"),
                      sa.delete(StatusEvent).where(StatusEvent.dispatch_id == dispatch.id)):
        with pytest.raises(AuditTrailError):
            db.session.execute(statement)
        db.session.rollback()
    assert [(e.to_stage, e.note) for e in events_of(dispatch)] == [
        ("selected", None), ("contracted", "signed")]


# -- no lost update ---------------------------------------------------------------------------


def test_a_stale_form_is_refused_with_the_current_stage(dispatch_at, agent):
    dispatch = dispatch_at("selected")
    move_dispatch(dispatch, "contracted", agent, expected_version=1)
    # A second tab still shows the form of version 1.
    with pytest.raises(StaleDispatch) as stale:
        move_dispatch(dispatch, "withdrawn", agent, expected_version=1)
    assert stale.value.code == "stale"
    assert (stale.value.current_stage, stale.value.current_version) == ("contracted", 2)
    assert str(stale.value.message) == (
        "This dispatch was changed by someone else meanwhile: it is now at stage Contract "
        "signed. Reload and try again.")
    assert dispatch.stage == "contracted" and len(events_of(dispatch)) == 2


def test_update_dispatch_sets_the_planned_departure(dispatch_at, agent, make_user):
    dispatch = dispatch_at("training")
    day = TODAY + timedelta(days=90)
    update_dispatch(dispatch, agent, expected_version=1, planned_departure=day)
    db.session.expire_all()
    assert dispatch.planned_departure == day and dispatch.version == 2
    update_dispatch(dispatch, agent, expected_version=2, planned_departure=day)
    assert dispatch.version == 2  # nothing changed, nothing written
    with pytest.raises(StaleDispatch):
        update_dispatch(dispatch, agent, expected_version=1, planned_departure=None)
    with pytest.raises(DispatchError) as refused:
        update_dispatch(dispatch, make_user(role="agency"), expected_version=2,
                        planned_departure=None)
    assert refused.value.code == "forbidden"
    closed = dispatch_at("completed")
    with pytest.raises(DispatchError) as refused:
        update_dispatch(closed, agent, expected_version=1, planned_departure=day)
    assert refused.value.code == "closed"


def test_stage_labels_in_templates(app):
    render = app.jinja_env.from_string("{{ stage_label(s) }} / {{ document_kind_label(k) }}")
    assert render.render(s="coe_issued", k="tb_certificate") == (
        "COE issued / Tuberculosis certificate")
    from matching.labels import DOCUMENT_KIND_LABELS, STAGE_LABELS

    assert set(STAGE_LABELS) == set(STAGES) | set(EXITS)
    assert set(DOCUMENT_KIND_LABELS) == {"passport", "health_check", "tb_certificate",
                                         "language_certificate", "contract", "coe", "visa",
                                         "flight", "receipt"}
