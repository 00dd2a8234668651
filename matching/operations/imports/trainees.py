"""Bulk trainee import (DESIGN §4): validate every row, then write them all at once.

All-or-nothing: every row is parsed and checked first and every problem is collected as a
``RowError``; a single error and nothing is written. Otherwise one transaction with bulk
statements, never an ORM object or a query per row: existing keys are looked up at once,
new rows inserted, existing ones updated by primary key, and their skills replaced, all
through the driver (``bulk``: COPY on PostgreSQL, the driver's executemany on SQLite).
"""

import functools
import logging
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa

from matching import access
from matching.extensions import db
from matching.formats import (
    LIST_SEPARATOR,
    TRAINEE_COLUMNS,
    TRAINEE_OPTIONAL_COLUMNS,
    TRAINEE_REQUIRED,
)
from matching.i18n import _l
from matching.models import Trainee, trainee_skills
from matching.models._common import utcnow
from matching.models.registry import next_version as next_registry_version
from matching.operations.imports import bulk
from matching.operations.imports.parsing import (
    CellError,
    ImportResult,
    RowError,
    TableFormat,
    all_or_nothing,
    chunks,
    date_parser,
    memo,
    parse_date,
    parse_email,
    parse_field,
    parse_japanese_level,
    parse_phone,
    parse_prefecture,
    parse_province,
    parsed_rows,
    province_names,
    short,
    text_parser,
    warn_custom_skills,
    warn_restored_phones,
)
from matching.operations.skills import ensure_skill_ids, skill_aliases
from matching.validation import MAX_AGE, MIN_AGE, PLANNED, age_on
from matching.vocab import fold, japanese_rank
from matching.vocab.skills import parse_skills

__all__ = ["KNOWN_COLUMNS", "import_trainees"]

log = logging.getLogger(__name__)

#: Optional columns beyond the public format: consent to be shown, and the katakana reading.
EXTRA_COLUMNS = ("consent", "name_kana")
KNOWN_COLUMNS = TRAINEE_COLUMNS + TRAINEE_OPTIONAL_COLUMNS + EXTRA_COLUMNS
PREVIEW_ROWS = 20
MAX_TRAINING_HOURS = 100_000
FORMAT = TableFormat(KNOWN_COLUMNS, TRAINEE_REQUIRED, name="trainees",
                     no_rows=_l("The file has a header row but no trainees."))


# -- the importer ---------------------------------------------------------------------------


@FORMAT.importer
def import_trainees(rows, *, user=None, province_scope: str | None = None,
                    dry_run: bool = False, progress: Callable[[int], None] | None = None
                    ) -> ImportResult:
    """Validate every row, then create or update all trainees in one transaction.

    ``rows``: ``read_table``'s ``[(line, {column: text})]`` or plain dicts (lines numbered
    from 2). A department user may only touch its own province, whatever ``province_scope``
    says. ``progress(n)`` is called now and then with the number of rows validated so far.
    Nothing is written when there is any error or when ``dry_run`` is set.
    """
    result, numbered, columns = FORMAT.start(rows, dry_run=dry_run)
    if not numbered:
        return result
    if user is not None and province_scope is None:
        province_scope = access.import_province_scope(user)
    parsed = _validate(numbered, columns, province_scope, result.errors, progress)
    if "phone" in columns:
        warn_restored_phones(result.warnings, numbered, "phone")
    for line, _values, skills in parsed:
        warn_custom_skills(result.warnings, line, "skills", skills)
    result.preview = [dict(values, line=line, skills=skills)
                      for line, values, skills in parsed[:PREVIEW_ROWS]]
    if result.errors:
        return result
    existing = _existing_ids([(v["province"], v["external_id"]) for _, v, _ in parsed])
    result.updated = sum(1 for _, v, _ in parsed if (v["province"], v["external_id"]) in existing)
    result.created = len(parsed) - result.updated
    for item in result.preview:
        item["action"] = "update" if (item["province"], item["external_id"]) in existing \
            else "create"
    if not dry_run:
        _write(parsed, existing, "skills" in columns, getattr(user, "id", None))
        log.info("trainee import by %s: %d rows, %d created, %d updated",
                 getattr(user, "email", "CLI"), result.rows, result.created, result.updated)
    return result


# -- rows -----------------------------------------------------------------------------------


def _validate(numbered, columns, scope, errors, progress):
    fold_name = _name_folder()
    parsed: list[tuple[int, dict, list[str]]] = []
    seen: dict[tuple[str, str], int] = {}
    for line, values in parsed_rows(numbered, columns, _parsers(scope), set(TRAINEE_REQUIRED),
                                    _BLANK, errors, progress):
        key = (values["province"], values["external_id"])
        if key in seen:
            errors.append(RowError(line, "external_id", _l(
                "The ID “%(value)s” appears twice for the same province: first on line "
                "%(line)d.", value=key[1], line=seen[key])))
            continue
        seen[key] = line
        values["name_folded"] = fold_name(values["full_name"])
        values["language_rank"] = japanese_rank(values["japanese_level"])
        parsed.append((line, values, values.pop("skills", [])))
    return parsed


# -- cells ----------------------------------------------------------------------------------

_BLANK = {"gender": None, "school": None, "skills": [], "training_hours": 0,
          "experience_years": 0.0, "preferred_prefectures": "", "available_from": None,
          "email": None, "phone": None, "name_kana": None, "consent": None}
_GENDERS = {"f": "F", "female": "F", "nu": "F", "女": "F", "女性": "F",
            "m": "M", "male": "M", "nam": "M", "男": "M", "男性": "M",
            "x": "X", "other": "X", "khac": "X", "その他": "X"}
_CONSENT = {"yes": True, "y": True, "1": True, "true": True, "co": True, "はい": True,
            "no": False, "n": False, "0": False, "false": False, "khong": False, "いいえ": False}
_KANA = re.compile(r"[\u30A0-\u30FF ]+")
_HIRAGANA_TO_KATAKANA = {c: c + 0x60 for c in range(0x3041, 0x3097)}
_LIST_SPLIT = re.compile(rf"[{LIST_SEPARATOR},、]")


def _birth_date(text: str) -> date:
    born = parse_date(text)
    today = date.today()
    if born > today:
        raise CellError(_l("The date of birth %(value)s is in the future.", value=short(text)))
    age = age_on(born, today)
    if not MIN_AGE <= age <= MAX_AGE:
        raise CellError(_l("The date of birth %(value)s gives an age of %(age)d; trainees "
                           "must be 15 to 65 years old.", value=short(text), age=age))
    return born


def _gender(text: str) -> str:
    try:
        return _GENDERS[fold(text)]
    except KeyError:
        raise CellError(_l("Unknown gender “%(value)s”; use F, M, X or leave it blank.",
                           value=short(text))) from None


def _consent(text: str) -> bool:
    try:
        return _CONSENT[fold(text)]
    except KeyError:
        raise CellError(_l("Consent must be yes or no, not “%(value)s”.",
                           value=short(text))) from None


def _skills(text: str, aliases: dict[str, str] | None = None) -> list[str]:
    slugs = parse_skills(text, aliases)
    for slug in slugs:
        if len(slug) > 80:
            raise CellError(_l("The skill “%(value)s” is longer than %(limit)d characters.",
                               value=short(slug), limit=80))
    return slugs


def _prefectures(text: str) -> str:
    codes: dict[str, None] = {}
    for part in _LIST_SPLIT.split(text):
        if part.strip():
            codes.setdefault(parse_prefecture(part.strip()), None)
    return LIST_SEPARATOR.join(codes)


def _hours(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value.is_integer() or not 0 <= value <= MAX_TRAINING_HOURS:
        raise CellError(_l("Training hours must be a whole number from 0 to %(max)d, not "
                           "“%(value)s”.", max=MAX_TRAINING_HOURS, value=short(text)))
    return int(value)


def _years(text: str) -> float:
    try:
        value = float(text.replace(",", "."))  # a decimal comma, as Vietnamese writes it
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= 50):
        raise CellError(_l("Experience must be a number of years from 0 to 50, not “%(value)s”.",
                           value=short(text)))
    return value


def _kana(text: str) -> str:
    # NFKC turns half-width katakana into full-width; hiragana is accepted as katakana.
    kana = " ".join(unicodedata.normalize("NFKC", text).split()).translate(
        _HIRAGANA_TO_KATAKANA)
    if not _KANA.fullmatch(kana) or len(kana) > 200:
        raise CellError(_l("The reading “%(value)s” must be written in katakana.",
                           value=short(text)))
    return kana


def _name_folder() -> Callable[[str], str]:
    """``fold`` for already whitespace-collapsed names, word by word through a cache.

    The same as ``fold(name)`` (folding never crosses a space), but a file repeats the same
    few family and middle names thousands of times.
    """
    words: dict[str, str] = {}

    def fold_name(name: str) -> str:
        out = []
        for word in name.split(" "):
            folded = words.get(word)
            if folded is None:
                folded = words[word] = fold(word)
            if folded:
                out.append(folded)
        return " ".join(out)

    return fold_name


def _province(scope: str | None) -> Callable[[str], str]:
    def parse(text: str) -> str:
        code = parse_province(text)
        if scope is not None and code != scope:
            raise CellError(_l("This trainee belongs to %(province)s, outside your province.",
                               province=province_names([code])))
        return code
    return parse


def _parsers(scope: str | None) -> dict[str, Callable[[str], object]]:
    """Fresh (memoised) parsers for one import, keyed by column."""
    return {
        "external_id": text_parser(64), "full_name": text_parser(200),
        "school": text_parser(200),
        "date_of_birth": memo(_birth_date),
        "available_from": memo(date_parser(PLANNED, "available_from")),
        "gender": memo(_gender), "province": memo(_province(scope)),
        "field": memo(parse_field),
        "skills": memo(functools.partial(_skills, aliases=skill_aliases())),
        "japanese_level": memo(parse_japanese_level), "training_hours": _hours,
        "experience_years": _years, "preferred_prefectures": memo(_prefectures),
        "email": parse_email, "phone": parse_phone, "consent": memo(_consent),
        "name_kana": _kana,
    }


# -- writing --------------------------------------------------------------------------------


def _existing_ids(keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Ids of the trainees already stored under these (province, external_id) keys."""
    if BULK_WRITES:
        found = bulk.ids_by_key(Trainee.__table__, keys, ("province", "external_id"))
        if found is not None:
            return found
    by_province: dict[str, list[str]] = defaultdict(list)
    for province, external_id in keys:
        by_province[province].append(external_id)
    found = {}
    for province, external_ids in by_province.items():
        for chunk in chunks(sorted(external_ids)):
            stmt = sa.select(Trainee.id, Trainee.external_id).where(
                Trainee.province == province, Trainee.external_id.in_(chunk))
            for trainee_id, external_id in db.session.execute(stmt):
                found[(province, external_id)] = trainee_id
    return found


#: Write through the driver (``bulk``: COPY on PostgreSQL, plain executemany on SQLite).
#: False takes SQLAlchemy's executemany, the portable path the tests compare it with.
BULK_WRITES = True


def _write(parsed, existing, with_skills: bool, user_id: int | None) -> None:
    """One transaction: bulk INSERT new rows, bulk UPDATE by id, replace skill links."""
    now = utcnow()
    # The registry version first (it locks the version row before any trainee row), then
    # every written row carries it: the ranking pool reads only these rows afterwards.
    version = next_registry_version()
    inserts, insert_skills, updates, update_skills = [], [], [], []
    for _line, values, skills in parsed:
        trainee_id = existing.get((values["province"], values["external_id"]))
        if trainee_id is None:
            record = dict(values, status="available", created_at=now, updated_at=now,
                          created_by_id=user_id, updated_by_id=user_id,
                          registry_version=version)
            if record.get("consent") is None:
                record["consent"] = True
            inserts.append(record)
            insert_skills.append(skills)
        else:
            record = dict(values, id=trainee_id, updated_at=now, updated_by_id=user_id,
                          registry_version=version)
            del record["province"], record["external_id"]  # the key itself never changes
            updates.append(record)
            update_skills.append((trainee_id, skills))
    with all_or_nothing():
        skill_ids = ensure_skill_ids(s for _, _, skills in parsed for s in skills) \
            if with_skills else {}
        write = _write_bulk if BULK_WRITES else _write_portable
        write(inserts, insert_skills, updates, update_skills,
              skill_ids if with_skills else None)


def _new_ids(inserts: list[dict]) -> dict[tuple[str, str], int]:
    """The ids the database gave the inserted rows, read back by key."""
    return _existing_ids([(r["province"], r["external_id"]) for r in inserts])


def _write_bulk(inserts, insert_skills, updates, update_skills, skill_ids) -> None:
    """The rows through ``bulk``: COPY (PostgreSQL) or the driver's executemany (SQLite)."""
    links: list[tuple[int, int]] = []
    if inserts:
        columns = list(inserts[0])
        bulk.insert_rows(Trainee.__table__, columns,
                         ([r[c] for c in columns] for r in inserts))
        if skill_ids is not None:
            new_ids = _new_ids(inserts)
            links += [(new_ids[(r["province"], r["external_id"])], skill_ids[s])
                      for r, skills in zip(inserts, insert_skills, strict=True)
                      for s in skills]
    if updates:
        columns = [c for c in updates[0] if c != "id"]
        # A blank consent cell (None) keeps the consent on record.
        bulk.update_rows(Trainee.__table__, columns,
                         ([r["id"], *(r[c] for c in columns)] for r in updates),
                         keep_when_null=("consent",))
        if skill_ids is not None:
            bulk.delete_where_in(trainee_skills, "trainee_id", [t for t, _ in update_skills])
            links += [(tid, skill_ids[s]) for tid, skills in update_skills for s in skills]
    if links:
        bulk.insert_rows(trainee_skills, ("trainee_id", "skill_id"), links)


def _write_portable(inserts, insert_skills, updates, update_skills, skill_ids) -> None:
    """The same rows through SQLAlchemy's executemany."""
    links = []
    if inserts:
        # No RETURNING: SQLite cannot promise its order, so SQLAlchemy would fall back
        # to one INSERT per row. Reading the new ids back by key costs a few queries.
        # The table, not the mapped class: the ORM's bulk INSERT re-processes every row
        # dict and measured twice as slow; the rows are complete, uniform dicts already.
        db.session.execute(sa.insert(Trainee.__table__), inserts)
        if skill_ids is not None:
            new_ids = _new_ids(inserts)
            links += [{"trainee_id": new_ids[(r["province"], r["external_id"])],
                       "skill_id": skill_ids[s]}
                      for r, skills in zip(inserts, insert_skills, strict=True)
                      for s in skills]
    if updates:
        updates = [{k: v for k, v in r.items() if k != "consent" or v is not None}
                   for r in updates]  # a blank consent cell keeps the consent on record
        db.session.execute(sa.update(Trainee), updates)
        if skill_ids is not None:
            for chunk in chunks([tid for tid, _ in update_skills]):
                db.session.execute(sa.delete(trainee_skills).where(
                    trainee_skills.c.trainee_id.in_(chunk)))
            links += [{"trainee_id": tid, "skill_id": skill_ids[s]}
                      for tid, skills in update_skills for s in skills]
    if links:
        db.session.execute(sa.insert(trainee_skills), links)
