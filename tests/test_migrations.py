"""Migrations upgrade a database that holds data, not only an empty one.

`make run` on a checkout that already has instance/matching.sqlite upgrades it in place;
SQLite batch migrations re-create tables, which must neither fail on nor delete the rows
that point at them (documents cascade from dispatches, users are referenced everywhere).
"""

import sqlalchemy as sa
from flask_migrate import upgrade

from matching import create_app
from matching.extensions import db


def test_upgrading_a_database_with_data_keeps_every_row(tmp_path):
    url = "sqlite:///" + str(tmp_path / "old.sqlite")
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(revision="0005_documents")
        with db.engine.begin() as conn:
            run = conn.exec_driver_sql
            run("INSERT INTO organisations (id, kind, code, name, country, active, created_at)"
                " VALUES (1, 'employer', 'e', 'E', 'JP', 1, '2026-01-01'),"
                " (2, 'agency', 'a', 'A', 'VN', 1, '2026-01-01')")
            run("INSERT INTO users (id, email, password_hash, name, role, organisation_id,"
                " active, failed_logins, created_at) VALUES (1, 'e@x.org', 'h', '', 'employer',"
                " 1, 1, 0, '2026-01-01')")
            run("INSERT INTO trainees (id, external_id, full_name, name_folded, date_of_birth,"
                " province, field, japanese_level, language_rank, training_hours,"
                " experience_years, preferred_prefectures, consent, status, created_at,"
                " updated_at, created_by_id) VALUES (1, 'T1', 'An', 'an', '2000-01-01',"
                " 'nghe-an', 'construction', 'N4', 2, 0, 0, '', 1, 'available', '2026-01-01',"
                " '2026-01-01', 1)")
            run("INSERT INTO job_orders (id, external_id, employer_id, agency_id, title, field,"
                " required_skills, preferred_skills, min_language_level, min_language_rank,"
                " headcount, monthly_salary_jpy, visa_track, status, created_at, updated_at,"
                " created_by_id) VALUES (1, 'JO1', 1, 2, 'Job', 'construction', '', '', 'none',"
                " 0, 1, 200000, 'SSW1', 'open', '2026-01-01', '2026-01-01', 1)")
            run("INSERT INTO dispatches (id, job_order_id, trainee_id, agency_id, stage,"
                " created_at, updated_at, version) VALUES (1, 1, 1, 2, 'withdrawn',"
                " '2026-01-01', '2026-01-01', 2)")
            run("INSERT INTO status_events (id, dispatch_id, from_stage, to_stage, happened_on,"
                " by_id, at) VALUES (1, 1, NULL, 'selected', '2026-01-01', 1, '2026-01-01'),"
                " (2, 1, 'selected', 'withdrawn', '2026-01-05', 1, '2026-01-05 10:00:00')")
            run("INSERT INTO documents (id, dispatch_id, kind, created_at, created_by_id)"
                " VALUES (1, 1, 'contract', '2026-01-02', 1)")
        upgrade()
        with db.engine.connect() as conn:
            count = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
                     for t in ("users", "trainees", "job_orders", "dispatches",
                               "status_events", "documents")}
            assert count == {"users": 1, "trainees": 1, "job_orders": 1, "dispatches": 1,
                             "status_events": 2, "documents": 1}
            token, = conn.execute(sa.text("SELECT session_token FROM users")).one()
            assert len(token) == 32
            closed, = conn.execute(sa.text("SELECT closed_at FROM dispatches")).one()
            assert str(closed).startswith("2026-01-05 10:00")
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        db.engine.dispose()
