import secrets
from datetime import UTC, datetime

import sqlalchemy as sa


def utcnow() -> datetime:
    """Timezone-aware now; stored as naive UTC so SQLite and PostgreSQL agree."""
    return datetime.now(UTC).replace(tzinfo=None)


#: Primary keys that appear in other organisations' URLs (dispatches, their documents) are
#: 64-bit on PostgreSQL. SQLite's INTEGER primary key already is.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_RANDOM_ID_FLOOR = 2**32  # above every sequential id these tables had before
_RANDOM_ID_CEILING = 2**53  # exact in a JavaScript number, for API clients


def random_id() -> int:
    """A new row's id that cannot be guessed from another one (nor counted from it)."""
    return _RANDOM_ID_FLOOR + secrets.randbelow(_RANDOM_ID_CEILING - _RANDOM_ID_FLOOR)
