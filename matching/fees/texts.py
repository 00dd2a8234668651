"""What each rule's flag says, in the reader's language: its title and, with the figures,
its explanation. Keyed by the check (``rules.Rule.check``): a rule added in the data file
for an existing check speaks as that check does."""

from flask_babel import LazyString

from matching.i18n import _l, fmt_date, fmt_list, fmt_yen, locale_code
from matching.labels import TRACK_STAGE_LABELS
from matching.vocab import field_name, prefecture_name

TITLES = {
    "brokerage_charged": _l("Brokerage paid by the worker"),
    "service_fee_over_cap": _l("Service fee above the legal cap"),
    "service_fee_before_contract": _l("Service fee paid before the contract"),
    "deposit_charged": _l("Deposit or guarantee paid by the worker"),
    "service_fee_not_allowed": _l("Service fee where none is allowed"),
    "waiting_too_long": _l("Waiting more than 180 days without departure"),
    "refund_due": _l("Service fee not refunded after an early return"),
    "contract_substitution": _l("Contract differs from the job order"),
}


def title(flag) -> str:
    return TITLES.get(flag.rule.check, flag.rule.id)


def _yen(value) -> LazyString:
    return LazyString(fmt_yen, value)


def _date(value) -> LazyString:
    return LazyString(fmt_date, value)


def explanation(flag):
    """The flag in a sentence, with its figures (a lazy string)."""
    check, details = flag.rule.check, flag.details
    amount, limit = _yen(flag.amount_jpy), _yen(flag.limit_jpy)
    if check == "brokerage_charged":
        return _l("The worker paid %(amount)s in brokerage; no brokerage may be charged to "
                  "a worker going to Japan.", amount=amount)
    if check == "deposit_charged":
        return _l("The worker paid %(amount)s as a deposit, guarantee money or penalty; "
                  "none may be charged for Japan.", amount=amount)
    if check == "service_fee_over_cap":
        return _l("The worker paid %(amount)s in service fees; for a %(months)d-month "
                  "contract at %(wage)s a month the cap is %(limit)s.", amount=amount,
                  months=details["contract_months"], wage=_yen(details["wage_jpy"]),
                  limit=limit)
    if check == "service_fee_before_contract":
        if details.get("contracted_on") is None:
            return _l("A service fee of %(amount)s was paid on %(date)s, and the contract is "
                      "not signed yet.", amount=amount, date=_date(details["paid_on"]))
        return _l("A service fee of %(amount)s was paid on %(date)s, before the contract was "
                  "signed on %(contracted)s.", amount=amount, date=_date(details["paid_on"]),
                  contracted=_date(details["contracted_on"]))
    if check == "service_fee_not_allowed":
        return _l("The worker paid %(amount)s in service fees, but no service fee may be "
                  "charged on this contract (%(case)s).", amount=amount,
                  case=TRACK_STAGE_LABELS.get(details["case"], details["case"]))
    if check == "waiting_too_long":
        return _l("%(days)d days have passed since the selection on %(date)s without "
                  "departure, and no compensation to the worker is recorded.",
                  days=details["days"], date=_date(details["selected_on"]))
    if check == "refund_due":
        return _l("The worker returned early on %(date)s after %(worked)s of %(months)d "
                  "months; a service-fee refund of %(due)s was due by %(deadline)s, "
                  "%(refunded)s is recorded.", date=_date(details["returned_on"]),
                  worked=details["months_worked"], months=details["contract_months"],
                  due=limit, deadline=_date(details["deadline"]), refunded=amount)
    if check == "contract_substitution":
        return _l("The signed contract differs from the job order: %(changes)s.",
                  changes=LazyString(_changes, details["changes"]))
    return flag.rule.id


def _changes(changes: dict) -> str:
    locale = locale_code()
    parts = []
    if "wage" in changes:
        advertised, signed = changes["wage"]
        parts.append(str(_l("a wage of %(signed)s instead of the %(advertised)s advertised",
                            signed=fmt_yen(signed), advertised=fmt_yen(advertised))))
    if "field" in changes:
        parts.append(str(_l("the field %(signed)s instead of %(advertised)s",
                            signed=field_name(changes["field"][1], locale),
                            advertised=field_name(changes["field"][0], locale))))
    if "prefecture" in changes:
        parts.append(str(_l("the prefecture %(signed)s instead of %(advertised)s",
                            signed=prefecture_name(changes["prefecture"][1], locale),
                            advertised=prefecture_name(changes["prefecture"][0], locale))))
    if "employer" in changes:
        parts.append(str(_l("another employer")))
    for month, wage in changes.get("reported_wages", ()):
        parts.append(str(_l("a wage of %(wage)s reported for %(month)s", wage=fmt_yen(wage),
                            month=month[:7])))
    return str(fmt_list(parts))

