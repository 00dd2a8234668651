"""The words of the trade (issue 10, section 9): today's institutions and the programmes' own
terms in the vi and ja catalogues, the 履歴書 and the demo data; one msgid per meaning;
translated aria-labels. The glossaries (translations/GLOSSARY.*.md) say why."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from matching.config import PROJECT_ROOT
from matching.labels import STAGE_LABELS, STATUS_LABELS, label

CATALOGUES = PROJECT_ROOT / "translations"


def _catalogue(locale: str):
    with (CATALOGUES / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def _strings(locale: str) -> list[tuple[str, str]]:
    """(msgid, translation) for every translated string, plural forms included."""
    found = []
    for message in _catalogue(locale):
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found += [(msgid, s) for s in strings]
    return found


@pytest.mark.parametrize("term", [
    "Sở Lao động",            # the provincial body is the Sở Nội vụ since 2025-03-01
    "doanh nghiệp phái cử",   # Law 69/2020: doanh nghiệp dịch vụ
    "Doanh nghiệp phái cử",
    "diện visa",              # the visa track is a tư cách lưu trú
    "Diện visa",
    "Đào tạo việc làm",       # ESD: Việc làm để phát triển kỹ năng
])
def test_vietnamese_names_todays_institutions(term):
    assert [msgid for msgid, s in _strings("vi") if term in s] == []


@pytest.mark.parametrize("term", [
    "研修生",      # the pre-2010 non-working 研修 status: 訓練生
    "派遣",        # reads as 労働者派遣: 送出し
    "省労働局",    # no body's name: 省内務局
    "自省",        # 管轄する省・市
    "不明な",      # said as an HR manager reads it
    "“", "”",      # one quotation style: 「」
])
def test_japanese_avoids_the_wrong_terms(term):
    assert [msgid for msgid, s in _strings("ja") if term in s] == []


def test_japanese_shows_coe_beside_the_certificate_and_cities_beside_provinces():
    strings = _strings("ja")
    naming_the_coe = [s for _, s in strings if "在留資格認定証明書" in s]
    assert naming_the_coe
    assert [s for s in naming_the_coe if re.search(r"在留資格認定証明書(?!（COE）)", s)] == []
    # 6 of the 34 provincial units are cities: a bare 省 is only ever part of 省内務局.
    assert [s for _, s in strings if re.search(r"省(?!内務局|・市)", s)] == []


def test_each_stage_has_one_name(app):
    with app.test_request_context():
        with force_locale("ja"):
            assert label(STAGE_LABELS, "deployed") == label(STATUS_LABELS, "deployed") == "就労中"
            assert label(STAGE_LABELS, "completed") == "契約満了"
            assert label(STAGE_LABELS, "coe_issued") == "在留資格認定証明書（COE）交付済み"
        with force_locale("vi"):
            assert label(STAGE_LABELS, "visa_issued") == "Đã được cấp thị thực"


def test_the_provincial_body_and_the_agency(app):
    from matching.labels import ORG_KIND_LABELS

    with app.test_request_context():
        with force_locale("vi"):
            assert str(ORG_KIND_LABELS["department"]) == "Sở Nội vụ"
            assert str(ORG_KIND_LABELS["agency"]) == "Doanh nghiệp dịch vụ"
        with force_locale("ja"):
            assert str(ORG_KIND_LABELS["department"]) == "省内務局（Sở Nội vụ）"
            assert str(ORG_KIND_LABELS["agency"]) == "送出機関"


@pytest.mark.parametrize(("context", "msgid", "vi", "ja"), [
    (None, "The ID can have at most %(max)d characters.",
     "Mã đơn hàng tối đa %(max)d ký tự.", "求人票番号は%(max)d文字以内で入力してください。"),
    ("trainee", "The ID can have at most %(max)d characters.",
     "Mã học viên tối đa %(max)d ký tự.", "管理番号は%(max)d文字以内で入力してください。"),
    (None, "Name", "Họ và tên", "氏名"),
    ("organisation", "Name", "Tên tổ chức", "名称"),
])
def test_one_english_word_two_meanings(context, msgid, vi, ja):
    assert _catalogue("vi").get(msgid, context).string == vi
    assert _catalogue("ja").get(msgid, context).string == ja


def test_the_organisation_list_names_its_column_and_kinds(client, make_user, make_org, login):
    make_org(kind="department", name="Sở Nội vụ tỉnh Nghệ An")
    login(make_user(role="admin", locale="ja"))
    html = client.get("/admin/organisations").get_data(as_text=True)
    assert '<th scope="col">名称</th>' in html
    assert "省内務局（Sở Nội vụ）" in html


def test_every_aria_label_is_translated():
    """An aria-label is read out to the user: it is a translated expression, never raw text."""
    raw = []
    for path in sorted(Path(PROJECT_ROOT / "templates").rglob("*.html")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for value in re.findall(r'aria-label="([^"]*)"', line):
                if not re.fullmatch(r"\{\{\s*(_|gettext|pgettext)\(.*\)\s*\}\}", value):
                    raw.append(f"{path.name}:{n}: {value}")
    assert raw == []


def test_the_rirekisho_uses_the_programmes_terms():
    source = (PROJECT_ROOT / "matching" / "documents" / "rirekisho.py").read_text(encoding="utf-8")
    for term in ("研修生", "派遣", "省労働局", "自省"):
        assert term not in source
    # Where it names the COE, it says 「在留資格認定証明書（COE）」.
    assert not re.search(r"在留資格認定証明書(?!（COE）)", source)


def test_the_rirekisho_address_names_a_city_as_a_city(make_trainee):
    from matching.documents.rirekisho import _address

    assert _address("nghe-an") == "ベトナム ゲアン省"
    assert _address("ha-noi") == "ベトナム ハノイ市"


def test_demo_departments_are_the_so_noi_vu():
    from matching.operations.demo import ORGANISATIONS

    departments = [o.name for o in ORGANISATIONS if o.kind == "department"]
    assert departments and all(name.startswith("Sở Nội vụ ") for name in departments)
    assert not any("Lao động" in o.name for o in ORGANISATIONS if o.kind != "platform")
