"""Organisation CLI (users/import/demo commands are tested beside their features)."""

import sqlalchemy as sa

from matching.extensions import db
from matching.models import Organisation


def test_orgs_create_and_list(runner):
    result = runner.invoke(args=["orgs", "create", "so-ld-nghe-an", "--kind", "department",
                                 "--name", "Sở LĐ-TB&XH Nghệ An", "--province", "Nghe An"])
    assert result.exit_code == 0, result.output
    org = db.session.scalar(sa.select(Organisation).where(Organisation.code == "so-ld-nghe-an"))
    assert (org.kind, org.province, org.country) == ("department", "nghe-an", "VN")
    listing = runner.invoke(args=["orgs", "list"])
    assert "so-ld-nghe-an" in listing.output and "Sở LĐ-TB&XH Nghệ An" in listing.output


def test_orgs_create_refuses_bad_input(runner):
    result = runner.invoke(args=["orgs", "create", "x", "--kind", "department", "--name", "X",
                                 "--province", "Atlantis"])
    assert result.exit_code != 0 and "unknown province" in result.output
    result = runner.invoke(args=["orgs", "create", "x", "--kind", "department", "--name", "X"])
    assert result.exit_code != 0  # a department needs a province
    runner.invoke(args=["orgs", "create", "acme", "--kind", "employer", "--name", "Acme"])
    result = runner.invoke(args=["orgs", "create", "acme", "--kind", "employer", "--name", "B"])
    assert result.exit_code != 0 and "already exists" in result.output
