"""The rirekisho (Japanese résumé) PDF: its content, its embedded font and its download route."""

import io
from datetime import date

import pytest
from pypdf import PdfReader

from matching.documents import build_rirekisho
from matching.documents.rirekisho import certificate_text
from matching.extensions import db
from matching.models import LanguageCertificate, Skill
from matching.web.downloads import rirekisho_filename

TODAY = date(2026, 4, 1)


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def full_trainee(make_trainee):
    trainee = make_trainee(
        full_name="Nguyễn Thị Ánh Tuyết", name_kana="グエン・ティ・アイン・トゥエット",
        date_of_birth=date(2001, 3, 15), gender="F", province="nghe-an",
        school="Trường Cao đẳng Kỹ thuật Nghệ An", field="nursing_care",
        japanese_level="N4", training_hours=720, experience_years=2.5,
        preferred_prefectures="aichi;osaka", available_from=date(2026, 4, 1),
        email="tuyet@example.org", phone="+84 912 345 678",
    )
    trainee.skills = [Skill(slug="bathing-assistance"), Skill(slug="meal-assistance")]
    db.session.add_all([
        LanguageCertificate(trainee=trainee, language="ja", test="JLPT", level="N4",
                            cefr_rank=2, issued_on=date(2025, 7, 1)),
        LanguageCertificate(trainee=trainee, language="ja", test="JFT-Basic", level="A2",
                            score=225, cefr_rank=2, issued_on=date(2024, 11, 20)),
        LanguageCertificate(trainee=trainee, language="ja", test="NAT-TEST", level="4Q",
                            cefr_rank=2),
    ])
    db.session.commit()
    return trainee


def test_the_resume_follows_the_2021_form_with_the_trainee_data(full_trainee):
    content = build_rirekisho(full_trainee, today=TODAY)

    assert content.startswith(b"%PDF")
    # The font is subset on output: the 5 MB TTFs must not end up whole in the file.
    assert 5_000 < len(content) < 300_000
    text = _pdf_text(content)
    for heading in ("履歴書", "ふりがな", "氏名", "生年月日", "現住所", "学歴・職歴", "免許・資格",
                    "志望の動機", "本人希望記入欄", "写真をはる位置"):
        assert heading in text
    assert "2026年4月1日現在" in text
    assert "NGUYEN THI ANH TUYET" in text  # passport-style romaji
    assert "Nguyễn Thị Ánh Tuyết" in text  # and the Vietnamese spelling, diacritics intact
    assert "グエン・ティ・アイン・トゥエット" in text
    assert "2001年3月15日生（満 25 歳）" in text
    assert "性別 女" in text
    assert "ベトナム ゲアン省" in text
    assert "+84 912 345 678" in text and "tuyet@example.org" in text
    assert "Trường Cao đẳng Kỹ thuật Nghệ An（介護分野）修了" in text
    assert "介護分野 実務経験 通算2.5年" in text
    assert "以上" in text
    # Certificates, oldest first, with their year and month columns.
    assert "2024 11 国際交流基金日本語基礎テスト（JFT-Basic） A2 合格（225点）" in text
    assert "2025 7 日本語能力試験 N4 合格" in text
    assert "日本語NAT-TEST 4級 合格" in text
    assert text.index("JFT-Basic") < text.index("日本語能力試験") < text.index("NAT-TEST")
    assert "日本語レベル（自己申告）" not in text
    assert "技能：入浴介助、食事介助" in text  # the skills' Japanese labels, not their codes
    assert "訓練時間：720時間" in text
    assert "希望勤務地：愛知県、大阪府" in text
    assert "就労可能日：2026年4月1日" in text
    # Fields the 2021 template removed.
    for removed in ("配偶者", "扶養家族", "通勤時間"):
        assert removed not in text


def test_the_japanese_font_is_embedded(full_trainee):
    reader = PdfReader(io.BytesIO(build_rirekisho(full_trainee, today=TODAY)))
    embedded = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", []):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                if "/FontFile2" in descriptor:
                    embedded.add(str(font["/BaseFont"]).split("+")[-1])
    assert embedded == {"NotoSansJP", "NotoSansJPBold"}


@pytest.mark.parametrize(("gender", "level", "declared"), [
    (None, "N4", "日本語レベル（自己申告）N4"),
    ("X", "JFT-A2", "日本語レベル（自己申告）JFT-Basic A2"),
    ("", "none", "特になし"),
])
def test_a_sparse_record_leaves_optional_parts_blank(make_trainee, gender, level, declared):
    trainee = make_trainee(full_name="Lê Văn Đức", gender=gender, japanese_level=level,
                           date_of_birth=date(2000, 4, 2), school=None, field="construction",
                           province="ha-noi")
    text = _pdf_text(build_rirekisho(trainee, today=TODAY))

    assert "LE VAN DUC" in text
    assert "性別" not in text  # optional since 2021: left out, not printed blank
    assert "満 25 歳" in text  # the birthday is tomorrow
    assert "ベトナム ハノイ市" in text
    assert "職業訓練（建設分野）" in text
    assert "職歴なし" in text
    assert declared in text
    assert "貴社の規定に従います。" in text
    assert "就労可能日" not in text and "訓練時間" not in text


def test_long_content_flows_onto_more_rows_and_pages(make_trainee):
    trainee = make_trainee(school="Trường Cao đẳng Nghề " + "Kỹ thuật Công nghệ " * 8)
    db.session.add_all([
        LanguageCertificate(trainee=trainee, language="en", test="CEFR", level="B1",
                            cefr_rank=3, issued_on=date(2000 + i, 1 + i % 12, 1))
        for i in range(26)
    ])
    db.session.commit()
    content = build_rirekisho(trainee, today=TODAY)
    text = _pdf_text(content)

    assert len(PdfReader(io.BytesIO(content)).pages) == 3
    assert text.count("英語 CEFR B1 相当") == 26
    assert "2025 2 英語 CEFR B1 相当" in text
    assert "（建設分野）修了" in text
    assert "本人希望記入欄" in text


@pytest.mark.parametrize(("values", "line"), [
    (dict(language="ko", test="EPS-TOPIK", score=180),
     "雇用許可制韓国語能力試験（EPS-TOPIK）（180点）"),
    (dict(language="de", test="CEFR", level="b1"), "ドイツ語 CEFR B1 相当"),
    (dict(language="ja", test="JFT-Basic", level="JFT-A2", expires_on=date(2027, 3, 31)),
     "国際交流基金日本語基礎テスト（JFT-Basic） A2 合格（有効期限 2027年3月31日）"),
])
def test_certificate_lines(values, line):
    assert certificate_text(LanguageCertificate(**values)) == line


def test_the_filename_is_ascii_safe(make_trainee):
    assert rirekisho_filename(make_trainee(external_id="NA-001")) == "rirekisho-NA-001.pdf"
    odd = make_trainee(external_id='Hồ sơ "7"/ư')
    assert rirekisho_filename(odd) == "rirekisho-H_s_7.pdf"


# -- the download route ----------------------------------------------------------------------


def test_the_department_downloads_the_resume_of_its_trainee(client, login, make_user,
                                                             full_trainee):
    login(make_user(role="department", province="nghe-an"))
    page = client.get(f"/trainees/{full_trainee.id}")
    assert f"/trainees/{full_trainee.id}/rirekisho.pdf" in page.get_data(as_text=True)

    response = client.get(f"/trainees/{full_trainee.id}/rirekisho.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="rirekisho-{full_trainee.external_id}.pdf"')
    assert response.headers["Cache-Control"] == "no-store"
    assert "NGUYEN THI ANH TUYET" in _pdf_text(response.data)


@pytest.mark.parametrize(("role", "province", "status"), [
    ("department", "thanh-hoa", 404),
    ("employer", None, 403),
    ("agency", None, 403),
])
def test_others_cannot_download_it(client, login, make_user, full_trainee, role, province,
                                   status):
    login(make_user(role=role, province=province))
    assert client.get(f"/trainees/{full_trainee.id}/rirekisho.pdf").status_code == status
