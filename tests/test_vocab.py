"""Reference vocabularies: what people type resolves to the public codes (DESIGN §3)."""

import csv

import pytest

from matching.config import PROJECT_ROOT
from matching.vocab import (
    FIELDS,
    PREFECTURES,
    PROVINCES,
    fold,
    japanese_rank,
    normalise_skill,
    parse_japanese_level,
    parse_skills,
    resolve_prefecture,
    resolve_province,
)
from matching.vocab.fields import resolve_field
from matching.vocab.languages import certificate_rank

REFERENCE = PROJECT_ROOT.parent / "shared" / "reference"


def test_sixteen_fields_with_three_languages():
    assert len(FIELDS) == 16
    care = FIELDS["nursing_care"]
    assert (care.en, care.ja, care.vi) == ("Nursing care", "介護", "Điều dưỡng – chăm sóc")
    assert resolve_field("Xây dựng") == "construction"
    assert resolve_field("xay dung") == "construction"
    assert resolve_field("介護") == "nursing_care"
    assert resolve_field("FOOD_SERVICE") == "food_service"
    assert resolve_field("astronaut") is None


def test_thirty_four_provinces_every_former_unit_mapped():
    assert len(PROVINCES) == 34
    total_former = 0
    for province in PROVINCES.values():
        assert province.en and province.ja and province.vi
        for former in province.former_units:
            total_former += 1
            assert resolve_province(former) == province.code
            assert resolve_province(fold(former)) == province.code
            assert resolve_province(former.upper()) == province.code
    assert total_former == 63  # the 63 provinces before the 2025 merger


@pytest.mark.skipif(not (REFERENCE / "vn_provinces_2025.csv").exists(),
                    reason="shared reference data not beside the checkout")
def test_vendored_province_data_matches_reference():
    with (REFERENCE / "vn_provinces_2025.csv").open(encoding="utf-8") as fh:
        codes = {row["code"] for row in csv.DictReader(fh)}
    assert codes == set(PROVINCES)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Phu Yen", "dak-lak"),
        ("Phú Yên", "dak-lak"),
        ("phú yên", "dak-lak"),
        ("Tỉnh Phú Yên", "dak-lak"),
        ("dak-lak", "dak-lak"),
        ("Đắk Lắk", "dak-lak"),
        ("Hà Giang", "tuyen-quang"),
        ("Bà Rịa–Vũng Tàu", "ho-chi-minh"),
        ("Ba Ria - Vung Tau", "ho-chi-minh"),
        ("TP. Hồ Chí Minh", "ho-chi-minh"),
        ("Thành phố Hà Nội", "ha-noi"),
        ("Hanoi", "ha-noi"),
        ("Thừa Thiên Huế", "hue"),
        ("ハノイ", "ha-noi"),
    ],
)
def test_province_resolution(typed, code):
    assert resolve_province(typed) == code


def test_unknown_province():
    assert resolve_province("Atlantis") is None
    assert resolve_province("") is None


def test_prefectures():
    assert len(PREFECTURES) == 47
    assert resolve_prefecture("Tōkyō") == "tokyo"
    assert resolve_prefecture("東京都") == "tokyo"
    assert resolve_prefecture("大阪") == "osaka"
    assert resolve_prefecture("Aichi Prefecture") == "aichi"
    assert resolve_prefecture("北海道") == "hokkaido"
    assert resolve_prefecture("Gotham") is None


@pytest.mark.parametrize(
    ("typed", "code", "rank"),
    [("none", "none", 0), ("", "none", 0), ("N5", "N5", 1), ("n4", "N4", 2),
     ("JLPT N3", "N3", 3), ("N2", "N2", 4), ("N1", "N1", 5), ("JFT-A2", "JFT-A2", 2),
     ("JFT Basic A2", "JFT-A2", 2), ("B1", "B1", 3), ("C2", "C2", 6)],
)
def test_japanese_levels_on_the_cefr_rank(typed, code, rank):
    assert parse_japanese_level(typed) == code
    assert japanese_rank(code) == rank


def test_unknown_japanese_level():
    assert parse_japanese_level("N6") is None
    assert parse_japanese_level("fluent") is None


def test_certificate_ranks():
    assert certificate_rank("JLPT", "N3") == 3
    assert certificate_rank("JFT-Basic", "A2") == 2
    assert certificate_rank("NAT-TEST", "4Q") == 2
    assert certificate_rank("CEFR", "B2") == 4


def test_skills_are_normalised_slugs():
    assert normalise_skill("  CNC Machining ") == "cnc-machining"
    assert normalise_skill("Hàn điện") == "han-dien"
    assert parse_skills("Welding; welding ;forklift,  ") == ["welding", "forklift"]
    assert parse_skills(None) == []


def test_fold_handles_vietnamese_d():
    assert fold("Nguyễn Văn Đức") == "nguyen van duc"
    assert fold("  ĐẶNG   thị  ") == "dang thi"
