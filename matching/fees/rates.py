"""Exchange rates: yen per unit of a currency, the latest on or before a payment's date.

The table is small (a rate per currency per date an administrator entered): it is read whole
once per check or import and looked up in memory (``bisect``), never a query per charge.
A charge whose currency has no rate on or before its date cannot be converted: recording it
is refused (``NoRate``), rather than checked with a wrong figure.
"""

import bisect
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask_babel import LazyString

from matching.extensions import db
from matching.i18n import _l, fmt_date
from matching.models import ExchangeRate
from matching.models.fees import BASE_CURRENCY
from matching.operations.errors import OperationError


class NoRate(OperationError):
    """No exchange rate of the currency on or before the date."""


@dataclass(frozen=True)
class RateUsed:
    """The rate a conversion used: ``rate`` yen per unit of ``currency`` from ``valid_on``
    (None for the yen itself)."""

    currency: str
    valid_on: date | None
    rate: Decimal

    def as_json(self) -> dict:
        return {"currency": self.currency, "rate_to_jpy": str(self.rate),
                "valid_on": self.valid_on.isoformat() if self.valid_on else None}

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate.normalize():f} JPY ({fmt_date(self.valid_on)})"


_YEN = RateUsed(BASE_CURRENCY, None, Decimal(1))


def yen(amount: int | Decimal, rate: Decimal) -> int:
    """``amount`` units at ``rate`` yen each, rounded to the yen (half up)."""
    return int((Decimal(amount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class RateTable:
    """Every stored rate, by currency, sorted by date."""

    def __init__(self, rows):
        self._days: dict[str, list[date]] = {}
        self._rates: dict[str, list[Decimal]] = {}
        self._found: dict[tuple[str, date], RateUsed | None] = {}
        for currency, valid_on, rate in sorted(rows, key=lambda r: (r[0], r[1])):
            self._days.setdefault(currency, []).append(valid_on)
            self._rates.setdefault(currency, []).append(Decimal(rate))

    @classmethod
    def load(cls) -> "RateTable":
        return cls(db.session.execute(sa.select(
            ExchangeRate.currency, ExchangeRate.valid_on, ExchangeRate.rate_to_jpy)).all())

    def lookup(self, currency: str, on: date) -> RateUsed | None:
        """The latest rate of ``currency`` on or before ``on``; None when there is none."""
        key = (currency, on)
        if key not in self._found:  # a ledger repeats its days
            self._found[key] = self._lookup(currency, on)
        return self._found[key]

    def _lookup(self, currency: str, on: date) -> RateUsed | None:
        if currency == BASE_CURRENCY:
            return _YEN
        days = self._days.get(currency, [])
        index = bisect.bisect_right(days, on) - 1
        if index < 0:
            return None
        return RateUsed(currency, days[index], self._rates[currency][index])

    def to_jpy(self, amount: int, currency: str, on: date) -> tuple[int, RateUsed]:
        """``amount`` of ``currency`` paid on ``on`` in yen, and the rate used; ``NoRate``."""
        used = self.lookup(currency, on)
        if used is None:
            raise NoRate(_l("There is no %(currency)s exchange rate on or before %(date)s: "
                            "an administrator must enter one before this payment can be "
                            "recorded.", currency=currency, date=LazyString(fmt_date, on)),
                         field="currency", code="no_rate")
        return yen(amount, used.rate), used
