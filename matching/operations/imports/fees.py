"""Fee ledger import (issue 13 §1): the charges of many dispatches from one CSV / XLSX file.

Columns: ``trainee_external_id,job_order_external_id,kind,amount,currency,paid_on,payer``
(required), ``payee,receipt_no,note`` (optional), plus ``trainee_province`` to tell apart
trainees of several provinces sharing an external_id (as in the status import).

A kind and a payer may be written as their code or as the site names them in any of its
languages ("Tiền dịch vụ", "手数料"... see ``kind_names``); an amount is a whole number
("15.000.000", "15,000,000" and "15 000 000 đ" are the same: neither the đồng nor the yen
has decimals); a currency is VND or JPY ("đ", "円" too). Each row is checked as the form
checks a charge (``operations.fees.check_charge``), and converted to yen with the latest
exchange rate on or before its date: a currency without one is an error, never a guess.

All-or-nothing: any bad row and nothing is written, every bad line reported. A row the
ledger already holds (same dispatch, kind, amount, currency, date, payer and receipt number)
is on record: it counts as unchanged, so importing the same file twice changes nothing.

The CLI acts as the system (``user`` None); on the web an agency records charges only on its
own dispatches (another's answer as unknown), an admin on any; other roles may not import.
``created`` counts the charges written, ``updated`` the dispatches they were written on.
"""

import logging
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from matching import access
from matching.extensions import db
from matching.fees.rates import NoRate, RateTable
from matching.fees.store import refresh_dispatches
from matching.i18n import _l
from matching.labels import CHARGE_KIND_LABELS, PAYER_LABELS
from matching.models import ALL_CHARGE_KINDS, PAYERS, Charge
from matching.operations.errors import OperationError
from matching.operations.fees import (
    MAX_AMOUNT,
    NOTE_LIMIT,
    PAYEE_LIMIT,
    RECEIPT_LIMIT,
    check_charge,
)
from matching.operations.imports.parsing import (
    CellError,
    ImportResult,
    RowError,
    TableFormat,
    all_or_nothing,
    chunks,
    date_parser,
    memo,
    parse_province,
    parsed_rows,
    short,
    text_parser,
)
from matching.operations.imports.statuses import resolve_dispatches
from matching.validation import PAST_EVENT
from matching.vocab.folding import fold_key

__all__ = ["FEE_COLUMNS", "KNOWN_COLUMNS", "import_fees"]

log = logging.getLogger(__name__)

FEE_COLUMNS = ("trainee_external_id", "job_order_external_id", "kind", "amount", "currency",
               "paid_on", "payer")
FEE_OPTIONAL_COLUMNS = ("payee", "receipt_no", "note", "trainee_province")
KNOWN_COLUMNS = FEE_COLUMNS + FEE_OPTIONAL_COLUMNS
PREVIEW_ROWS = 20
FORMAT = TableFormat(KNOWN_COLUMNS, FEE_COLUMNS, name="fees",
                     no_rows=_l("The file has a header row but no payments."))

#: How people write who paid, besides the code and the site's labels.
_PAYER_ALIASES = {
    "worker": ("người lao động", "NLĐ", "học viên", "thực tập sinh", "労働者", "本人",
               "実習生", "trainee"),
    "employer": ("doanh nghiệp tiếp nhận", "công ty tiếp nhận", "nghiệp đoàn", "受入企業",
                 "雇用主", "監理団体"),
    "agency": ("công ty phái cử", "doanh nghiệp dịch vụ", "doanh nghiệp phái cử", "送出機関"),
}
_CURRENCIES = {"vnd": "VND", "vnđ": "VND", "đ": "VND", "d": "VND", "dong": "VND",
               "đồng": "VND", "jpy": "JPY", "yen": "JPY", "円": "JPY", "¥": "JPY", "￥": "JPY"}
_MARKERS = re.compile(r"(vnđ|vnd|đồng|dong|đ|jpy|yen|円|¥|￥)", re.IGNORECASE)
_GROUPED = re.compile(r"\d{1,3}([.,])\d{3}(?:\1\d{3})*")
_WHOLE_FLOAT = re.compile(r"(\d+)\.0+")  # a number cell of Excel: 15000000.0


# -- the importer ---------------------------------------------------------------------------


@FORMAT.importer
def import_fees(rows, *, user=None, dry_run: bool = False,
                progress: Callable[[int], None] | None = None) -> ImportResult:
    """Check every row, then write all new charges in one transaction.

    ``rows``: ``read_table``'s ``[(line, {column: text})]`` or plain dicts (lines numbered
    from 2). Nothing is written on any error or when ``dry_run`` is set.
    """
    refusal = None if access.can_import_fees(user) else _l(
        "Only administrators and dispatch agencies may import payments.")
    result, numbered, columns = FORMAT.start(rows, dry_run=dry_run, refusal=refusal)
    if not numbered:
        return result
    parsed = list(parsed_rows(numbered, columns, _parsers(), set(FEE_COLUMNS), {},
                              result.errors, progress))
    parsed = _checked(parsed, result.errors)
    resolve_dispatches(parsed, user, result.errors)
    new, unchanged = _new_rows(parsed)
    result.errors.sort(key=lambda e: e.line)
    preview = [dict(values, line=line, action="unchanged" if line in unchanged else "create")
               for line, values in parsed]
    result.preview = preview[:PREVIEW_ROWS]
    if result.errors:
        return result
    result.created = len(new)
    result.updated = len({values["dispatch_id"] for _line, values in new})
    result.unchanged = len(parsed) - len(new)
    if not dry_run and new:
        with all_or_nothing():
            db.session.add_all(Charge(created_by_id=getattr(user, "id", None),
                                      dispatch_id=values["dispatch_id"],
                                      **{k: values[k] for k in _CHARGE_FIELDS})
                               for _line, values in new)
            refresh_dispatches({values["dispatch_id"] for _line, values in new})
        log.info("fee import by %s: %d rows, %d charges on %d dispatches",
                 getattr(user, "email", "CLI"), result.rows, result.created, result.updated)
    return result


_CHARGE_FIELDS = ("kind", "amount", "currency", "paid_on", "payer", "payee", "receipt_no",
                  "note")


def _checked(parsed, errors: list[RowError]) -> list[tuple[int, dict]]:
    """Each row as the form checks a charge, then converted to yen (no rate: an error)."""
    rates = RateTable.load()
    kept = []
    for line, values in parsed:
        try:
            cleaned = check_charge(**{k: values.get(k) for k in _CHARGE_FIELDS})
            cleaned["amount_jpy"], used = rates.to_jpy(cleaned["amount"], cleaned["currency"],
                                                       cleaned["paid_on"])
        except NoRate as exc:
            errors.append(RowError(line, "currency", exc.message))
            continue
        except OperationError as exc:
            errors.append(RowError(line, exc.field, exc.message))
            continue
        cleaned["rate"] = str(used.rate.normalize()) if used.valid_on else None
        kept.append((line, dict(values, **cleaned)))
    return kept


def _key(values: dict) -> tuple:
    return (values["dispatch_id"], values["kind"], values["amount"], values["currency"],
            values["paid_on"], values["payer"], values["receipt_no"] or None)


def _new_rows(parsed) -> tuple[list[tuple[int, dict]], set[int]]:
    """The rows to write, and the lines of those the ledger already holds (as many of each
    identical row as it holds): one query per chunk of dispatches."""
    on_record: Counter = Counter()
    for chunk in chunks(sorted({values["dispatch_id"] for _line, values in parsed})):
        for charge in db.session.execute(sa.select(
                Charge.dispatch_id, Charge.kind, Charge.amount, Charge.currency, Charge.paid_on,
                Charge.payer, Charge.receipt_no).where(Charge.dispatch_id.in_(chunk))):
            on_record[tuple(charge)] += 1
    new, unchanged = [], set()
    for line, values in parsed:
        key = _key(values)
        if on_record[key] > 0:
            on_record[key] -= 1
            unchanged.add(line)
        else:
            new.append((line, values))
    return new, unchanged


# -- cells ----------------------------------------------------------------------------------


def _names(labels: dict, aliases: dict[str, tuple[str, ...]] | None = None) -> dict[str, str]:
    """Folded name -> code: each code, its label in every language of the site and its
    aliases; a name two codes share is left out (ambiguous)."""
    names: dict[str, set[str]] = defaultdict(set)
    for code in labels:
        names[fold_key(code)].add(code)
    for locale in current_app.config["LANGUAGES"]:
        with force_locale(locale):
            for code, label in labels.items():
                names[fold_key(str(label))].add(code)
    for code, words in (aliases or {}).items():
        for word in words:
            names[fold_key(word)].add(code)
    return {name: codes.pop() for name, codes in names.items() if len(codes) == 1 and name}


def _choice_parser(labels: dict, codes, refusal: Callable[[str, str], object],
                   aliases=None) -> Callable[[str], str]:
    names = _names({code: labels[code] for code in codes}, aliases)

    def parse(text: str) -> str:
        code = names.get(fold_key(unicodedata.normalize("NFKC", text)))
        if code is None:
            raise CellError(refusal(short(text), ", ".join(codes)))
        return code
    return parse


def parse_amount(text: str) -> int:
    """A whole amount: "15000000", "15.000.000", "15,000,000", "15 000 000 đ"."""
    cleaned = _MARKERS.sub("", unicodedata.normalize("NFKC", text))
    cleaned = re.sub(r"[\s_']", "", cleaned)
    if _GROUPED.fullmatch(cleaned):
        cleaned = re.sub(r"[.,]", "", cleaned)
    elif _WHOLE_FLOAT.fullmatch(cleaned):
        cleaned = _WHOLE_FLOAT.fullmatch(cleaned).group(1)
    if not cleaned.isascii() or not cleaned.isdigit() or not 0 < int(cleaned) <= MAX_AMOUNT:
        raise CellError(_l("The amount must be a whole number above 0 (VND and JPY have no "
                           "decimals), not “%(value)s”.", value=short(text)))
    return int(cleaned)


def parse_currency(text: str) -> str:
    code = _CURRENCIES.get(unicodedata.normalize("NFKC", text).strip().lower())
    if code is None:
        raise CellError(_l("Unknown currency “%(value)s”; use VND or JPY.", value=short(text)))
    return code


def _parsers() -> dict[str, Callable[[str], object]]:
    """Fresh (memoised) parsers for one import, keyed by column."""
    return {
        "trainee_external_id": text_parser(64), "job_order_external_id": text_parser(64),
        "kind": memo(_choice_parser(CHARGE_KIND_LABELS, ALL_CHARGE_KINDS, lambda value, codes: _l(
            "Unknown kind of payment “%(value)s”; use one of %(codes)s, or its name as the "
            "site shows it.", value=value, codes=codes))),
        "amount": memo(parse_amount), "currency": memo(parse_currency),
        "paid_on": memo(date_parser(PAST_EVENT, "paid_on")),
        "payer": memo(_choice_parser(PAYER_LABELS, PAYERS, lambda value, codes: _l(
            "Unknown payer “%(value)s”; use one of %(codes)s.", value=value, codes=codes),
            _PAYER_ALIASES)),
        "payee": text_parser(PAYEE_LIMIT), "receipt_no": text_parser(RECEIPT_LIMIT),
        "note": text_parser(NOTE_LIMIT), "trainee_province": memo(parse_province),
    }
