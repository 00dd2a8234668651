"""Demo data for a living local site: ``flask --app matching demo seed [--trainees N]``.

Idempotent: organisations and users are created only when their code / e-mail is missing
(existing ones are left as they are), and trainees go through the bulk importer under fixed
external IDs, so a second run updates the same rows instead of adding new ones. Every value
comes from ``random.Random`` seeded per trainee number: trainee 17 is the same person whether
100 or 1,000 are asked for.

The three demo employers post ten job orders (``DEMO_JOB_ORDERS``, through the job-order
importer) and have taken dated past decisions on seven of them (through the decision
importer, which skips what is on record), enough for ``flask model train``; three job
orders are fresh, without any decision, for the live demo. Each decision depends only on
its (job order, trainee) pair and that trainee's other pairs (a worker is selected at most
once), never on how many trainees were asked for.

The selected workers then go through the real dispatch pipeline (``demo_pipeline``): each
gets its dispatch with the job order's agency, most have moved some steps along it with
their documents, and job orders whose selections reach the headcount are filled.

Every demo account logs in with ``DEMO_PASSWORD``.
"""

import logging
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from matching.extensions import db
from matching.models import Organisation, Trainee, User
from matching.operations.accounts import AccountError, create_user, save_organisation
from matching.operations.demo_fees import WORKER_EMAIL, seed_fees
from matching.operations.demo_pipeline import DemoPipelineError, seed_pipeline
from matching.operations.imports.decisions import import_decisions
from matching.operations.imports.job_orders import import_job_orders
from matching.operations.imports.trainees import import_trainees
from matching.vocab import SKILL_CATALOGUE, fold, japanese_rank

log = logging.getLogger(__name__)

DEMO_PASSWORD = "demo-password"
DEMO_SEED = 20250701  # the day Vietnam's 34 provinces came into force


class DemoError(RuntimeError):
    """The demo data could not be written (the importer refused generated rows)."""


@dataclass(frozen=True)
class DemoOrg:
    code: str
    kind: str
    name: str
    country: str = "VN"
    province: str | None = None
    #: The organisation's demo account: (e-mail, role, display name, preferred locale).
    account: tuple[str, str, str, str | None] | None = None
    #: A school's SSW fields: a trainee is only ever drawn from a school teaching their field.
    fields: tuple[str, ...] = ()


# What each kind of school teaches (a medical college trains carers, not welders).
_TECHNICAL = ("construction", "manufacturing", "auto_repair", "shipbuilding", "building_cleaning")
_INDUSTRIAL = ("manufacturing", "construction", "auto_repair", "food_manufacturing")
_MEDICAL = ("nursing_care",)
_ECONOMICS_TECHNICAL = ("agriculture", "food_manufacturing", "food_service", "accommodation",
                        "building_cleaning", "fishery")
_AGRICULTURE = ("agriculture", "forestry", "food_manufacturing")
_TRADE_TOURISM = ("food_service", "accommodation", "food_manufacturing", "building_cleaning")


# Department provinces: (code, external-ID prefix, share of the trainees).
PROVINCES = [("nghe-an", "NA", 30), ("thanh-hoa", "TH", 25), ("ha-noi", "HN", 18),
             ("dak-lak", "DL", 14), ("can-tho", "CT", 13)]

ORGANISATIONS = [
    DemoOrg("demo-platform", "platform", "Nền tảng Kết nối Lao động Việt – Nhật (demo)",
            account=("admin@demo.example", "admin", "Quản trị viên Demo", None)),
    DemoOrg("dept-nghe-an", "department", "Sở Nội vụ tỉnh Nghệ An", province="nghe-an",
            account=("nghe-an@demo.example", "department", "Nguyễn Thị Hồng", "vi")),
    DemoOrg("dept-thanh-hoa", "department", "Sở Nội vụ tỉnh Thanh Hóa", province="thanh-hoa",
            account=("thanh-hoa@demo.example", "department", "Lê Văn Thành", "vi")),
    DemoOrg("dept-ha-noi", "department", "Sở Nội vụ thành phố Hà Nội", province="ha-noi",
            account=("ha-noi@demo.example", "department", "Phạm Minh Tuấn", "vi")),
    DemoOrg("dept-dak-lak", "department", "Sở Nội vụ tỉnh Đắk Lắk", province="dak-lak",
            account=("dak-lak@demo.example", "department", "Y Bình Niê", "vi")),
    DemoOrg("dept-can-tho", "department", "Sở Nội vụ thành phố Cần Thơ", province="can-tho",
            account=("can-tho@demo.example", "department", "Huỳnh Thị Mai", "vi")),
    DemoOrg("school-viet-duc-nghe-an", "school",
            "Trường Cao đẳng Kỹ thuật Việt – Đức Nghệ An", province="nghe-an",
            fields=_TECHNICAL),
    DemoOrg("school-viet-han-nghe-an", "school",
            "Trường Cao đẳng Kỹ thuật Công nghiệp Việt Nam – Hàn Quốc", province="nghe-an",
            fields=_INDUSTRIAL),
    DemoOrg("school-y-te-nghe-an", "school", "Trường Cao đẳng Y tế Nghệ An",
            province="nghe-an", fields=_MEDICAL),
    DemoOrg("school-kt-kt-nghe-an", "school", "Trường Cao đẳng Kinh tế – Kỹ thuật Nghệ An",
            province="nghe-an", fields=_ECONOMICS_TECHNICAL),
    DemoOrg("school-cong-nghiep-thanh-hoa", "school", "Trường Cao đẳng Công nghiệp Thanh Hóa",
            province="thanh-hoa", fields=_INDUSTRIAL),
    DemoOrg("school-y-te-thanh-hoa", "school", "Trường Cao đẳng Y tế Thanh Hóa",
            province="thanh-hoa", fields=_MEDICAL),
    DemoOrg("school-nong-lam-thanh-hoa", "school", "Trường Cao đẳng Nông Lâm Thanh Hóa",
            province="thanh-hoa", fields=_AGRICULTURE),
    DemoOrg("school-bach-khoa-ha-noi", "school", "Trường Cao đẳng Nghề Bách khoa Hà Nội",
            province="ha-noi", fields=_TECHNICAL),
    DemoOrg("school-y-te-ha-noi", "school", "Trường Cao đẳng Y tế Hà Nội", province="ha-noi",
            fields=_MEDICAL),
    DemoOrg("school-thuong-mai-du-lich-ha-noi", "school",
            "Trường Cao đẳng Thương mại và Du lịch Hà Nội", province="ha-noi",
            fields=_TRADE_TOURISM),
    DemoOrg("school-ky-thuat-dak-lak", "school", "Trường Cao đẳng Kỹ thuật Đắk Lắk",
            province="dak-lak", fields=_TECHNICAL + ("agriculture",)),
    DemoOrg("school-y-te-dak-lak", "school", "Trường Cao đẳng Y tế Đắk Lắk",
            province="dak-lak", fields=_MEDICAL),
    DemoOrg("school-kt-kt-can-tho", "school", "Trường Cao đẳng Kinh tế – Kỹ thuật Cần Thơ",
            province="can-tho", fields=_ECONOMICS_TECHNICAL + _INDUSTRIAL),
    DemoOrg("school-y-te-can-tho", "school", "Trường Cao đẳng Y tế Cần Thơ",
            province="can-tho", fields=_MEDICAL),
    DemoOrg("sakura-kensetsu", "employer", "株式会社サクラ建設 (Sakura Kensetsu Co., Ltd.)", "JP",
            account=("sakura@demo.example", "employer", "田中 浩 (Tanaka Hiroshi)", "ja")),
    DemoOrg("midori-kaigo", "employer", "社会福祉法人みどり会 (Midori-kai Care)", "JP",
            account=("midori@demo.example", "employer", "佐藤 恵子 (Sato Keiko)", "ja")),
    DemoOrg("yamato-foods", "employer", "ヤマト食品工業株式会社 (Yamato Foods)", "JP",
            account=("yamato@demo.example", "employer", "鈴木 一郎 (Suzuki Ichiro)", "ja")),
    DemoOrg("hoa-sen-manpower", "agency",
            "Công ty CP Cung ứng Nhân lực Quốc tế Hoa Sen (Hoa Sen Manpower)",
            account=("hoasen@demo.example", "agency", "Đỗ Quang Huy", "vi")),
    DemoOrg("song-hong-hr", "agency", "Công ty TNHH Phát triển Nguồn nhân lực Sông Hồng",
            account=("songhong@demo.example", "agency", "Vũ Thu Trang", "vi")),
]


@dataclass
class SeedReport:
    organisations_created: int = 0
    users_created: int = 0
    trainees_created: int = 0
    trainees_updated: int = 0
    job_orders_created: int = 0
    job_orders_updated: int = 0
    decisions_created: int = 0
    #: Dispatches opened for the selected workers, and stage moves made on them.
    dispatches_created: int = 0
    moves: int = 0
    #: Payments recorded on the demo workers' ledgers, on how many dispatches.
    charges_created: int = 0
    ledgers_created: int = 0
    #: Every demo account: (e-mail, role, organisation name; the worker's own name).
    accounts: list[tuple[str, str, str]] = field(default_factory=list)


def seed_demo(trainees: int = 300) -> SeedReport:
    """Create what is missing of the demo organisations and users, then import the trainees,
    the job orders and the employers' past decisions on those trainees, and take the
    selected workers along the dispatch pipeline (``demo_pipeline``)."""
    report = SeedReport()
    actor_emails: dict[str, int] = {}  # demo account e-mail -> its organisation id
    orgs = {org.code: org for org in db.session.scalars(
        sa.select(Organisation).where(Organisation.code.in_([o.code for o in ORGANISATIONS])))}
    emails = set(db.session.scalars(sa.select(User.email).where(
        User.email.in_([o.account[0] for o in ORGANISATIONS if o.account]))))
    for demo in ORGANISATIONS:
        try:
            org = orgs.get(demo.code)
            if org is None:
                org = save_organisation(None, kind=demo.kind, code=demo.code, name=demo.name,
                                        country=demo.country, province=demo.province)
                report.organisations_created += 1
            if demo.account is None:
                continue
            email, role, name, locale = demo.account
            if email not in emails:
                create_user(email, DEMO_PASSWORD, role, org, name=name, locale=locale)
                report.users_created += 1
        except AccountError as exc:
            # Someone made an organisation with a demo code but another kind, for instance.
            raise DemoError(f"{demo.code}: {exc}") from exc
        report.accounts.append((email, role, org.name))
        actor_emails[email] = org.id
    rows = demo_trainee_rows(trainees) if trainees > 0 else []
    if rows:
        result = _checked(import_trainees(rows, user=None), "trainees")
        report.trainees_created, report.trainees_updated = result.created, result.updated
    result = _checked(import_job_orders(DEMO_JOB_ORDERS, user=None), "job orders")
    report.job_orders_created, report.job_orders_updated = result.created, result.updated
    decisions = demo_decision_rows(rows)
    if decisions:
        report.decisions_created = _checked(import_decisions(decisions, user=None),
                                            "decisions").created
    try:
        pipeline = seed_pipeline([j["external_id"] for j in DEMO_JOB_ORDERS], actor_emails,
                                 DEMO_SEED)
    except DemoPipelineError as exc:
        raise DemoError(str(exc)) from exc
    report.dispatches_created, report.moves = pipeline.dispatches_created, pipeline.moves
    fees = seed_fees(DEMO_PASSWORD, DEMO_SEED)
    report.charges_created, report.ledgers_created = fees.charges, fees.dispatches
    worker_name = db.session.scalar(
        sa.select(Trainee.full_name).join(User, User.trainee_id == Trainee.id)
        .where(User.email == WORKER_EMAIL))
    if worker_name is not None:
        report.accounts.append((WORKER_EMAIL, "worker", worker_name))
    log.info("demo seed: %s", report)
    return report


def _checked(result, what: str):
    """The import result, or ``DemoError`` naming the first refused rows."""
    if not result.ok:
        details = "; ".join(f"line {e.line} {e.column}: {e.message}" for e in result.errors[:5])
        raise DemoError(f"the importer refused the demo {what}: {details}")
    return result


# -- trainees --------------------------------------------------------------------------------

FAMILY_NAMES = {"Nguyễn": 38, "Trần": 11, "Lê": 9, "Phạm": 7, "Hoàng": 5, "Huỳnh": 4,
                "Phan": 4, "Vũ": 4, "Võ": 4, "Đặng": 2, "Bùi": 2, "Đỗ": 2, "Hồ": 2, "Ngô": 2,
                "Dương": 1, "Lý": 1}
MIDDLE_NAMES = {"M": ["Văn", "Văn", "Minh", "Đức", "Hữu", "Quang", "Thanh", "Công", "Xuân"],
                "F": ["Thị", "Thị", "Thị", "Ngọc", "Thu", "Hoài", "Thanh", "Minh", "Kim"]}
GIVEN_NAMES = {"M": ["An", "Bình", "Cường", "Dũng", "Hùng", "Nam", "Quân", "Tuấn", "Việt",
                     "Hải", "Long", "Phúc", "Khoa", "Đạt", "Thắng", "Sơn", "Trung", "Tâm"],
               "F": ["An", "Hà", "Hạnh", "Lan", "Linh", "Mai", "Phương", "Tâm", "Thảo",
                     "Trang", "Tuyết", "Yến", "Hương", "Nhung", "Vy", "Chi", "Dung"]}
#: Katakana readings, as Japanese résumés write Vietnamese names.
KANA = {
    "Nguyễn": "グエン", "Trần": "チャン", "Lê": "レ", "Phạm": "ファム", "Hoàng": "ホアン",
    "Huỳnh": "フイン", "Phan": "ファン", "Vũ": "ヴー", "Võ": "ヴォー", "Đặng": "ダン",
    "Bùi": "ブイ", "Đỗ": "ドー", "Hồ": "ホー", "Ngô": "ゴー", "Dương": "ズオン", "Lý": "リー",
    "Văn": "ヴァン", "Thị": "ティ", "Minh": "ミン", "Đức": "ドゥック", "Hữu": "フウ",
    "Quang": "クアン", "Thanh": "タイン", "Công": "コン", "Xuân": "スアン", "Ngọc": "ゴック",
    "Thu": "トゥー", "Hoài": "ホアイ", "Kim": "キム", "An": "アン", "Bình": "ビン",
    "Cường": "クオン", "Dũng": "ズン", "Hùng": "フン", "Nam": "ナム", "Quân": "クアン",
    "Tuấn": "トゥアン", "Việt": "ヴィエット", "Hải": "ハイ", "Long": "ロン", "Phúc": "フック",
    "Khoa": "コア", "Đạt": "ダット", "Thắng": "タン", "Sơn": "ソン", "Trung": "チュン",
    "Tâm": "タム", "Hà": "ハー", "Hạnh": "ハイン", "Lan": "ラン", "Linh": "リン", "Mai": "マイ",
    "Phương": "フオン", "Thảo": "タオ", "Trang": "チャン", "Tuyết": "トゥエット",
    "Yến": "イエン", "Hương": "フオン", "Nhung": "ニュン", "Vy": "ヴィー", "Chi": "チー",
    "Dung": "ズン",
}
FIELD_WEIGHTS = {"construction": 24, "manufacturing": 22, "nursing_care": 15,
                 "agriculture": 13, "food_manufacturing": 12, "food_service": 4,
                 "building_cleaning": 3, "auto_repair": 3, "accommodation": 2, "fishery": 2}
#: Share of women per field (the rest are men); other fields are even.
WOMEN_SHARE = {"nursing_care": 0.8, "food_manufacturing": 0.65, "construction": 0.08,
               "auto_repair": 0.05, "manufacturing": 0.35, "fishery": 0.2}
LEVEL_WEIGHTS = {"none": 36, "N5": 30, "N4": 20, "N3": 7, "JFT-A2": 7}
PREFECTURES = ["aichi", "osaka", "tokyo", "saitama", "chiba", "kanagawa", "hiroshima",
               "fukuoka", "shizuoka", "gifu", "ibaraki", "hyogo", "gunma", "kumamoto",
               "okayama", "mie"]


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def vietnamese_name(rng: random.Random, gender: str) -> list[str]:
    """Family, middle and given name drawn as often as Vietnam has them (gender F or M)."""
    return [_weighted(rng, FAMILY_NAMES), rng.choice(MIDDLE_NAMES[gender]),
            rng.choice(GIVEN_NAMES[gender])]


def demo_trainee_rows(count: int, today: date | None = None) -> list[dict[str, str]]:
    """``count`` importer rows (public column names, text values), the same on every run."""
    # Dates are relative to the first of the month, so runs within a month agree exactly.
    reference = (today or date.today()).replace(day=1)
    schools: dict[str, list[DemoOrg]] = {}
    for demo in ORGANISATIONS:
        if demo.kind == "school":
            schools.setdefault(demo.province, []).append(demo)
    province_weights = {code: share for code, _prefix, share in PROVINCES}
    prefixes = {code: prefix for code, prefix, _share in PROVINCES}
    numbers = dict.fromkeys(prefixes, 0)
    rows = []
    for index in range(count):
        rng = random.Random(f"{DEMO_SEED}-{index}")
        province = _weighted(rng, province_weights)
        numbers[province] += 1
        rows.append(_trainee_row(rng, province, numbers[province], prefixes[province],
                                 schools.get(province, []), reference))
    return rows


def _trainee_row(rng: random.Random, province: str, number: int, prefix: str,
                 schools: list[DemoOrg], reference: date) -> dict[str, str]:
    field_code = _weighted(rng, FIELD_WEIGHTS)
    gender = "F" if rng.random() < WOMEN_SHARE.get(field_code, 0.5) else "M"
    parts = vietnamese_name(rng, gender)
    # Aged 18 to 35: born between 35 years and 18 years and a month before the reference.
    oldest = reference.replace(year=reference.year - 35) + timedelta(days=1)
    youngest = reference.replace(year=reference.year - 18) - timedelta(days=31)
    born = oldest + timedelta(days=rng.randrange((youngest - oldest).days))
    catalogue = SKILL_CATALOGUE[field_code]
    skills = rng.sample(catalogue, k=rng.randint(1, min(4, len(catalogue))))
    level = _weighted(rng, LEVEL_WEIGHTS)
    hours = {"none": (0, 300), "N5": (150, 500), "N4": (300, 700), "N3": (500, 900),
             "JFT-A2": (300, 700)}[level]
    # Work experience, if any, started at 18 at the earliest.
    adult_years = (reference - born).days / 365.25 - 18
    experience = 0.0 if rng.random() < 0.4 else round(min(rng.uniform(0.5, 8.0), adult_years), 1)
    experience = max(experience, 0.0)
    preferred = rng.sample(PREFECTURES, k=rng.choice([0, 1, 1, 2, 3]))
    available = reference + timedelta(days=rng.randrange(14, 365))
    folded = fold(" ".join(parts)).split()
    return {
        "external_id": f"{prefix}-2026-{number:04d}",
        "full_name": " ".join(parts),
        "date_of_birth": born.isoformat(),
        "gender": gender,
        "province": province,
        "school": _school(rng, field_code, schools, number),
        "field": field_code,
        "skills": ";".join(skills),
        "japanese_level": level,
        "training_hours": str(rng.randrange(hours[0], hours[1] + 1, 10)),
        "experience_years": f"{experience:g}",
        "preferred_prefectures": ";".join(preferred),
        "available_from": available.isoformat(),
        "email": (f"{folded[-1]}.{folded[0]}.{prefix.lower()}{number:04d}@demo.example"
                  if rng.random() < 0.5 else ""),
        "phone": f"09{rng.randrange(10**8):08d}" if rng.random() < 0.8 else "",
        "name_kana": " ".join(KANA[p] for p in parts) if rng.random() < 0.15 else "",
    }


def _school(rng: random.Random, field_code: str, schools: list[DemoOrg], number: int) -> str:
    """A school of the province teaching ``field_code`` for 85 % of the trainees, else none
    (also when no school there teaches it). The draws from ``rng`` stay those of the time
    schools ignored fields, so every other value of the trainee is unchanged."""
    if not (schools and rng.random() < 0.85):
        return ""
    rng.choice(schools)
    teaching = [s.name for s in schools if field_code in s.fields]
    return random.Random(f"{DEMO_SEED}-school-{field_code}-{number}").choice(teaching) \
        if teaching else ""


# -- job orders and decisions ----------------------------------------------------------------

_JOB_COLUMNS = ("external_id", "employer", "agency", "title", "field", "required_skills",
                "preferred_skills", "min_japanese_level", "headcount", "prefecture",
                "monthly_salary_jpy", "start_date", "visa_track")
#: Importer rows (public columns plus the dispatching agency), the same on every run.
DEMO_JOB_ORDERS: list[dict[str, str]] = [dict(zip(_JOB_COLUMNS, row, strict=True)) for row in (
    ("SKR-2027-01", "sakura-kensetsu", "hoa-sen-manpower", "建設作業員（型枠）", "construction",
     "formwork;concrete", "scaffolding", "N4", "3", "aichi", "235000", "2027-04-01", "SSW1"),
    ("SKR-2027-02", "sakura-kensetsu", "hoa-sen-manpower", "鉄筋施工作業員", "construction",
     "rebar", "concrete;welding", "N5", "8", "aichi", "228000", "2027-04-01", "TITP"),
    ("SKR-2027-03", "sakura-kensetsu", "song-hong-hr", "とび職（足場組立）", "construction",
     "scaffolding", "heavy-machinery", "JFT-A2", "2", "shizuoka", "245000", "2027-06-01",
     "SSW1"),
    ("SKR-2027-04", "sakura-kensetsu", "hoa-sen-manpower", "内装仕上げ作業員", "construction",
     "interior-finishing;plastering", "tiling", "N4", "2", "tokyo", "258000", "2027-07-01",
     "SSW1"),
    ("MDR-2027-01", "midori-kaigo", "song-hong-hr", "介護職員（特定技能1号）", "nursing_care",
     "bathing-assistance;meal-assistance", "dementia-care", "N4", "5", "saitama", "215000",
     "2027-04-01", "SSW1"),
    ("MDR-2027-02", "midori-kaigo", "song-hong-hr", "介護職員（技能実習）", "nursing_care",
     "meal-assistance;mobility-assistance", "care-records", "N4", "2", "chiba", "198000",
     "2027-05-01", "TITP"),
    ("MDR-2027-03", "midori-kaigo", "song-hong-hr", "介護職員（夜勤あり）", "nursing_care",
     "dementia-care;vital-signs", "toileting-assistance", "JFT-A2", "2", "kanagawa", "240000",
     "2027-09-01", "SSW1"),
    ("YMT-2027-01", "yamato-foods", "hoa-sen-manpower", "食品製造ライン作業員",
     "food_manufacturing", "food-hygiene", "haccp;packaging", "N5", "8", "ibaraki", "192000",
     "2027-04-01", "ESD"),
    ("YMT-2027-02", "yamato-foods", "song-hong-hr", "水産加工作業員", "food_manufacturing",
     "seafood-processing;food-hygiene", "haccp", "JFT-A2", "4", "hiroshima", "205000",
     "2027-05-01", "SSW1"),
    ("YMT-2027-03", "yamato-foods", "song-hong-hr", "パン製造スタッフ", "food_manufacturing",
     "bakery", "food-hygiene;packaging", "N4", "2", "osaka", "210000", "2027-10-01", "SSW1"),
)]
#: Job orders without any decision: what the live demo ranks for the first time.
FRESH_JOB_ORDERS = ("SKR-2027-04", "MDR-2027-03", "YMT-2027-03")
#: Employers have looked at ~70 % of the trainees of their field among the first 300.
SHOWN_SHARE, SHOWN_AMONG = 0.7, 300
#: Final decision by employer utility (highest threshold first), and the steps leading to it.
DECISION_CUTS = ((2.9, "selected"), (1.8, "interviewed"), (0.6, "shortlisted"),
                 (float("-inf"), "rejected"))
_STEPS = {"selected": ("shortlisted", "interviewed", "selected"),
          "interviewed": ("shortlisted", "interviewed"), "shortlisted": ("shortlisted",),
          "rejected": ("rejected",)}
#: Fixed past dates, so a re-run in another month finds every decision on record.
DECIDED_FROM = date(2026, 2, 2)


def employer_utility(row: dict[str, str], job: dict[str, str]) -> float:
    """How much a demo employer wants a trainee: required skills and Japanese first.

    Required-skill coverage weighs most, then each Japanese level above or below the
    minimum (a shortfall costs one more point), preferred skills and a little experience.
    """
    has = set(row["skills"].split(";"))
    required = [s for s in job["required_skills"].split(";") if s]
    preferred = [s for s in job["preferred_skills"].split(";") if s]
    gap = japanese_rank(row["japanese_level"]) - japanese_rank(job["min_japanese_level"])
    return (2.5 * sum(s in has for s in required) / max(len(required), 1)
            + 0.7 * sum(s in has for s in preferred) / max(len(preferred), 1)
            + 0.6 * max(min(gap, 2), -2) - (1.0 if gap < 0 else 0.0)
            + 0.1 * min(float(row["experience_years"]), 5.0))


def demo_decision_rows(trainee_rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Dated decision rows of the demo employers on ``trainee_rows`` (``demo_trainee_rows``).

    For each job order with decisions, its employer looked at ~70 % of the trainees of its
    field among the first ``SHOWN_AMONG`` (registered first), graded them by
    ``employer_utility`` plus noise, and recorded the history that leads to each final
    decision (shortlisted, then interviewed, then selected) a week apart. Everything is
    seeded by the (job order, trainee) pair.

    A worker goes to one employer: a trainee already selected for an earlier job order
    (earlier in ``DEMO_JOB_ORDERS``, hence decided earlier) stops at "interviewed" on the
    later ones. That depends only on the trainee's own pairs, so a trainee's decisions are
    still the same whatever the number of trainees asked for.
    """
    out = []
    selected: set[str] = set()  # trainees an earlier job order selected
    for number, job in enumerate(DEMO_JOB_ORDERS):
        if job["external_id"] in FRESH_JOB_ORDERS:
            continue
        for row in trainee_rows[:SHOWN_AMONG]:
            if row["field"] != job["field"]:
                continue
            rng = random.Random(f"{DEMO_SEED}-{job['external_id']}-{row['external_id']}")
            if rng.random() >= SHOWN_SHARE:
                continue
            utility = employer_utility(row, job) + rng.gauss(0.0, 0.5)
            final = next(d for cut, d in DECISION_CUTS if utility >= cut)
            if final == "selected" and row["external_id"] in selected:
                final = "interviewed"
            elif final == "selected":
                selected.add(row["external_id"])
            day = DECIDED_FROM + timedelta(days=12 * number + rng.randrange(10))
            for step, decision in enumerate(_STEPS[final]):
                out.append({"job_order_external_id": job["external_id"],
                            "trainee_external_id": row["external_id"],
                            "trainee_province": row["province"], "decision": decision,
                            "decided_at": (day + timedelta(days=7 * step)).isoformat()})
    return out
