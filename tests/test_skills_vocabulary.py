"""The skill vocabulary (issue 10 §1): data, lookups, imports' warnings, the admin mapping,
the CLI, and the labels on the cards and the 履歴書."""

import csv
import io
import re
from datetime import date
from functools import partial

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from matching.documents import build_rirekisho
from matching.documents.rirekisho import motivation_text
from matching.extensions import db
from matching.models import JobOrder, Skill, SkillAlias, Trainee
from matching.operations.imports.job_orders import import_job_orders
from matching.operations.imports.parsing import import_file
from matching.operations.imports.trainees import import_trainees
from matching.operations.skills import (
    custom_skills_in_use,
    ensure_skill_ids,
    map_custom_skill,
)
from matching.ranking.pool import clear_memory_cache
from matching.vocab import FIELDS, SKILL_CATALOGUE
from matching.vocab.skills import (
    SKILL_RE,
    SKILLS,
    parse_skills,
    resolve_skill,
    skill_key,
    skill_label,
    skills_for_field,
)
from tests.conftest import english

import_trainees_file = partial(import_file, import_rows=import_trainees)
import_jobs_file = partial(import_file, import_rows=import_job_orders)

TRAINEE_HEADER = "external_id,full_name,date_of_birth,province,field,skills,japanese_level"
JOB_HEADER = ("external_id,employer,title,field,required_skills,preferred_skills,"
              "min_japanese_level,headcount,visa_track")


def csv_file(header: str, *rows: str) -> io.BytesIO:
    return io.BytesIO(("\n".join((header, *rows)) + "\n").encode("utf-8"))


def trainee_row(external_id: str, skills: str, field: str = "nursing_care") -> str:
    return f'{external_id},Lê Thị Hoa,2001-05-04,Nghệ An,{field},"{skills}",N4'


def job_row(external_id: str, required: str, preferred: str = "") -> str:
    return (f'{external_id},Sakura Care,Care worker,nursing_care,"{required}","{preferred}",'
            "N4,2,SSW1")


def trainee(external_id: str) -> Trainee:
    db.session.expire_all()
    return db.session.scalars(sa.select(Trainee).where(Trainee.external_id == external_id)).one()


@pytest.fixture(autouse=True)
def _fresh_pool_cache():
    clear_memory_cache()
    yield
    clear_memory_cache()


# -- the data ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", list(FIELDS))
def test_every_field_has_at_least_eight_skills_with_three_labels(field):
    skills = skills_for_field(field)
    assert len(skills) >= 8
    for skill in skills:
        assert SKILL_RE.match(skill.code), skill.code
        assert skill.en.strip() and skill.vi.strip() and skill.ja.strip(), skill.code
        # A Japanese label is written in Japanese, a Vietnamese one is not the English one.
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", skill.ja), skill.code
        assert skill.vi != skill.en or skill.code == "haccp", skill.code


def test_the_sixteen_fields_and_only_them():
    assert len(FIELDS) == 16
    assert {f for s in SKILLS.values() for f in s.fields} == set(FIELDS)


def test_no_name_stands_for_two_skills():
    owner: dict[str, str] = {}
    for skill in SKILLS.values():
        for name in (skill.code, skill.en, skill.vi, skill.ja, *skill.aliases):
            key = skill_key(name)
            assert owner.setdefault(key, skill.code) == skill.code, (name, owner[key])


def test_the_demo_and_benchmark_skills_are_vocabulary_codes_of_their_field():
    for field, slugs in SKILL_CATALOGUE.items():
        for slug in slugs:
            assert slug in SKILLS and field in SKILLS[slug].fields, (field, slug)


# -- lookups ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "code"), [
    ("dementia-care", "dementia-care"),          # the code
    ("Dementia care", "dementia-care"),          # the English label
    ("DEMENTIA  CARE", "dementia-care"),         # case and spaces folded
    ("Chăm sóc người sa sút trí tuệ", "dementia-care"),
    ("cham soc nguoi sa sut tri tue", "dementia-care"),  # without diacritics
    ("認知症ケア", "dementia-care"),
    ("認知症介護", "dementia-care"),              # an alias
    ("入浴介助", "bathing-assistance"),
    ("Hàn điện", "welding"),
    ("han dien", "welding"),
    ("ＨＡＣＣＰ", "haccp"),                      # full-width letters (NFKC)
    ("型枠", "formwork"),
    ("Lắp đặt cốt thép", "rebar"),
])
def test_a_skill_is_found_by_code_label_or_alias_folded(typed, code):
    assert resolve_skill(typed) == code


def test_an_unknown_skill_is_not_found_and_stays_custom():
    assert resolve_skill("underwater basket weaving") is None
    assert parse_skills("Underwater basket weaving; 入浴介助、玉掛け") == [
        "underwater-basket-weaving", "bathing-assistance", "玉掛け"]


def test_labels_follow_the_locale_and_a_custom_skill_shows_as_stored():
    assert skill_label("rebar", "ja") == "鉄筋施工"
    assert skill_label("rebar", "vi") == "Lắp đặt cốt thép"
    assert skill_label("rebar", "en") == "Rebar work"
    assert skill_label("rebar", "fr") == "Rebar work"
    assert skill_label("basket-weaving", "ja") == "basket-weaving"


# -- imports: labels in any language, warnings for custom skills ------------------------------


def test_a_trainee_import_resolves_labels_and_warns_about_custom_skills(app):
    result = import_trainees_file(csv_file(
        TRAINEE_HEADER,
        trainee_row("NA-1", "入浴介助; Hỗ trợ ăn uống; dementia care"),
        trainee_row("NA-2", "Kỹ năng đặc biệt; vital-signs"),
    ), "trainees.csv")
    assert result.ok and result.created == 2
    assert [(w.line, w.column) for w in result.warnings] == [(3, "skills")]
    assert "ky-nang-dac-biet" in english(result.warnings[0].message)
    assert trainee("NA-1").skill_slugs == ["bathing-assistance", "dementia-care",
                                           "meal-assistance"]
    # The custom skill is kept, as typed (folded), and applied despite the warning.
    assert trainee("NA-2").skill_slugs == ["ky-nang-dac-biet", "vital-signs"]


def test_a_job_order_import_resolves_labels_and_warns_about_custom_skills(app):
    result = import_jobs_file(csv_file(
        JOB_HEADER, job_row("JO-S1", "排泄介助; Care records", "Massage Therapy")), "jobs.csv")
    assert result.ok and result.created == 1
    assert [(w.line, w.column) for w in result.warnings] == [(2, "preferred_skills")]
    job = db.session.scalars(sa.select(JobOrder).where(JobOrder.external_id == "JO-S1")).one()
    assert job.required_skills == "toileting-assistance;care-records"
    assert job.preferred_skills == "massage-therapy"


def test_the_cli_import_prints_the_warning_and_imports(runner, tmp_path):
    path = tmp_path / "trainees.csv"
    path.write_bytes(csv_file(TRAINEE_HEADER, trainee_row("NA-9", "Nail art")).getvalue())
    result = runner.invoke(args=["import", "trainees", str(path)])
    assert result.exit_code == 0, result.output
    assert "warning: line 2, skills:" in result.output
    assert "nail-art" in result.output
    assert trainee("NA-9").skill_slugs == ["nail-art"]


def test_the_web_preview_lists_the_warnings(client, login, make_user):
    login(make_user(role="department", province="nghe-an", locale="en"))
    response = client.post("/trainees/import", data={
        "file": (csv_file(TRAINEE_HEADER, trainee_row("NA-W", "Nail art; 入浴介助")),
                 "trainees.csv")}, content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="import-warnings"' in text and "nail-art" in text
    assert 'id="confirm-import"' in text  # a warning does not stop the import
    assert "入浴介助" not in text or "Bathing assistance" in text


# -- the admin maps a custom skill onto the vocabulary ---------------------------------------


@pytest.fixture
def custom_world(make_trainee, make_user):
    ids = ensure_skill_ids(["tam-benh-nhan", "bathing-assistance", "oral-care"])
    db.session.commit()
    custom, vocab, oral = (db.session.get(Skill, ids[s]) for s in
                           ("tam-benh-nhan", "bathing-assistance", "oral-care"))
    only_custom = make_trainee(field="nursing_care", skills=[custom, oral])
    both = make_trainee(field="nursing_care", skills=[custom, vocab])
    employer = make_user(role="employer")
    job = JobOrder(external_id="JO-MAP-1", employer_id=employer.organisation_id,
                   title="Care worker", field="nursing_care", headcount=1, visa_track="SSW1",
                   required_skills="tam-benh-nhan;oral-care", preferred_skills="tam-benh-nhan")
    db.session.add(job)
    db.session.commit()
    return only_custom.id, both.id, job.id


def test_custom_skills_in_use_are_counted(custom_world):
    uses = {u.slug: (u.trainees, u.job_orders) for u in custom_skills_in_use()}
    assert uses == {"tam-benh-nhan": (2, 1)}


def test_mapping_updates_trainees_job_orders_and_later_imports(app, custom_world, make_user):
    only_custom, both, job_id = custom_world
    admin = make_user(role="admin")
    assert map_custom_skill("tam-benh-nhan", "bathing-assistance", admin) == (2, 1)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Trainee, only_custom).skill_slugs == ["bathing-assistance",
                                                                "oral-care"]
    assert db.session.get(Trainee, both).skill_slugs == ["bathing-assistance"]
    job = db.session.get(JobOrder, job_id)
    assert job.required_skills == "bathing-assistance;oral-care"
    assert job.preferred_skills == "bathing-assistance"
    assert db.session.scalar(sa.select(Skill).where(Skill.slug == "tam-benh-nhan")) is None
    alias = db.session.scalars(sa.select(SkillAlias)).one()
    assert (alias.alias, alias.slug, alias.created_by_id) == ("tam-benh-nhan",
                                                              "bathing-assistance", admin.id)
    assert custom_skills_in_use() == []
    # A later import resolves the alias, with or without diacritics, and warns no more.
    result = import_trainees_file(csv_file(TRAINEE_HEADER, trainee_row("NA-A", "Tắm bệnh nhân")),
                                  "t.csv")
    assert result.ok and result.warnings == []
    assert trainee("NA-A").skill_slugs == ["bathing-assistance"]


def test_the_admin_page_maps_in_one_request(client, login, make_user, custom_world):
    only_custom, _both, job_id = custom_world
    login(make_user(role="admin", locale="ja"))
    page = client.get("/admin/skills").get_data(as_text=True)
    assert "tam-benh-nhan" in page and "入浴介助" in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token" value="([^"]+)"', page)
    response = client.post("/admin/skills/map", data={
        "csrf_token": token.group(1) if token else "", "custom": "tam-benh-nhan",
        "code": "bathing-assistance"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Trainee, only_custom).skill_slugs == ["bathing-assistance",
                                                                "oral-care"]
    assert db.session.get(JobOrder, job_id).required_skills == "bathing-assistance;oral-care"
    assert 'id="no-custom-skills"' in client.get("/admin/skills").get_data(as_text=True)


def test_mapping_refuses_an_unknown_code_and_a_vocabulary_skill(app, custom_world):
    from matching.operations.skills import SkillMappingError
    with pytest.raises(SkillMappingError):
        map_custom_skill("tam-benh-nhan", "no-such-skill")
    with pytest.raises(SkillMappingError):
        map_custom_skill("welding", "rebar")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SkillAlias)) == 0


# -- the CLI ----------------------------------------------------------------------------------


def test_skills_list_as_a_table(runner):
    result = runner.invoke(args=["skills", "list", "--field", "nursing_care"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:5] == ["code", "field", "en", "vi", "ja"]
    assert any(line.startswith("bathing-assistance") and "入浴介助" in line
               and "Hỗ trợ tắm rửa" in line for line in lines)
    assert lines[-1] == f"{len(skills_for_field('nursing_care'))} skill(s)"


def test_skills_list_as_csv_by_a_field_name(runner):
    result = runner.invoke(args=["skills", "list", "--field", "Xây dựng", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert list(rows[0]) == ["code", "field", "en", "vi", "ja", "aliases"]
    assert {r["code"] for r in rows} == {s.code for s in skills_for_field("construction")}
    rebar = next(r for r in rows if r["code"] == "rebar")
    assert (rebar["ja"], rebar["vi"]) == ("鉄筋施工", "Lắp đặt cốt thép")


def test_skills_list_refuses_an_unknown_field(runner):
    result = runner.invoke(args=["skills", "list", "--field", "astronomy"])
    assert result.exit_code != 0


# -- labels on the screens and the 履歴書 ----------------------------------------------------


def test_candidate_cards_show_japanese_labels(client, login, make_user, make_org, make_trainee):
    employer = make_user(role="employer", locale="ja")
    job = JobOrder(external_id="JO-JA-1", employer_id=employer.organisation_id,
                   agency_id=make_org(kind="agency").id, title="Food line worker",
                   field="food_manufacturing", required_skills="haccp;food-hygiene",
                   preferred_skills="packaging", min_language_level="N4", min_language_rank=2,
                   headcount=1, prefecture="aichi", start_date=date(2026, 10, 1),
                   visa_track="SSW1", status="open")
    db.session.add(job)
    db.session.commit()
    ids = ensure_skill_ids(["haccp", "packaging", "my-own-skill"])
    db.session.commit()
    make_trainee(field="food_manufacturing", japanese_level="N3",
                 skills=[db.session.get(Skill, i) for i in ids.values()])
    login(employer)
    text = client.get(f"/jobs/{job.id}/candidates").get_data(as_text=True)
    assert "✓ HACCPに沿った衛生管理" in text
    assert "✗ 食品衛生" in text
    assert "★ 包装" in text
    assert "my-own-skill" in text  # a custom skill as stored
    assert ">haccp<" not in text
    view = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "HACCPに沿った衛生管理" in view and "包装" in view


def test_the_trainee_page_shows_vietnamese_labels(client, login, make_user, make_trainee):
    ids = ensure_skill_ids(["rebar", "formwork"])
    db.session.commit()
    t = make_trainee(skills=[db.session.get(Skill, i) for i in ids.values()])
    login(make_user(role="department", province="nghe-an", locale="vi"))
    text = client.get(f"/trainees/{t.id}").get_data(as_text=True)
    assert "Lắp đặt cốt thép" in text and "Lắp dựng cốp pha" in text


def test_the_rirekisho_names_skills_in_japanese(make_trainee):
    ids = ensure_skill_ids(["concrete", "scaffolding", "玉掛け"])
    db.session.commit()
    t = make_trainee(field="construction",
                     skills=[db.session.get(Skill, i) for i in ids.values()])
    assert "技能：コンクリート圧送、とび、玉掛け" in motivation_text(t)
    reader = PdfReader(io.BytesIO(build_rirekisho(t)))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "コンクリート圧送" in text and "scaffolding" not in text


def test_forms_offer_the_vocabulary_to_the_picker(client, login, make_user):
    login(make_user(role="department", province="nghe-an", locale="ja"))
    text = client.get("/trainees/new").get_data(as_text=True)
    assert 'id="skill-vocabulary"' in text and "js/skill-picker.js" in text
    assert "data-skill-picker" in text and 'data-field-select="field"' in text
    assert "入浴介助" in text
    assert "<script>" not in text  # strict CSP: no inline script
