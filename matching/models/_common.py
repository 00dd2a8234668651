from datetime import UTC, datetime


def utcnow() -> datetime:
    """Timezone-aware now; stored as naive UTC so SQLite and PostgreSQL agree."""
    return datetime.now(UTC).replace(tzinfo=None)
