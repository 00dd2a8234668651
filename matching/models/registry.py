"""The registry version: what the ranking pool's cache checks in O(1), and its delta.

``registry_state`` has one row. Every transaction that changes trainees takes the next
``version`` once, in that same transaction (``UPDATE … SET version = version + 1``), and
stamps each trainee it changes with it (``Trainee.registry_version``). A ranking worker
that holds the pool of version V therefore needs one one-row query to know whether it is
current, and reads only ``registry_version > V`` when it is not (``ranking.pool``).

The update takes the row's write lock until the commit, so versions are handed out in
commit order: once a reader sees version V, every change up to V is committed and visible.
Registry writes are thereby serialised; each is short (a form, or one import's bulk
statements). To keep lock order the same everywhere — ``registry_state``, then trainee
rows — the version is taken before the first trainee row is written or locked
(``before_flush`` here, ``operations.locks.lock_rows``, the bulk import).

A deleted trainee cannot show up in a delta: ``full_since`` moves to that version, and a
pool older than it is rebuilt whole.

The ORM paths are stamped by the ``before_flush`` listener below, whatever operation made
the change; bulk Core writes (the trainee import) call ``next_version`` and stamp their
rows themselves.
"""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from matching.extensions import db
from matching.models.trainees import LanguageCertificate, Trainee

_IN_TRANSACTION = "matching.registry_version"


class RegistryState(db.Model):
    __tablename__ = "registry_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger)
    full_since: Mapped[int] = mapped_column(sa.BigInteger)


def current_version(session: Session | None = None) -> tuple[int, int]:
    """(version, full_since) as committed now: one primary-key read."""
    session = session or db.session
    t = RegistryState.__table__
    row = session.connection().execute(
        sa.select(t.c.version, t.c.full_since).where(t.c.id == 1)).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def next_version(session: Session | None = None, *, full: bool = False) -> int:
    """This transaction's registry version, taken (and locked) on first use.

    ``full``: the change cannot be applied as a delta (a deletion): pools older than this
    version are rebuilt whole.
    """
    session = session or db.session
    t = RegistryState.__table__
    connection = session.connection()  # no autoflush: this runs inside before_flush too
    version = session.info.get(_IN_TRANSACTION)
    if version is None:
        row = connection.execute(sa.update(t).where(t.c.id == 1)
                                 .values(version=t.c.version + 1).returning(t.c.version)).first()
        if row is None:  # an emptied database (tests): start again
            connection.execute(sa.insert(t).values(id=1, version=1, full_since=1))
            version = 1
        else:
            version = int(row[0])
        session.info[_IN_TRANSACTION] = version
    if full:
        connection.execute(sa.update(t).where(t.c.id == 1).values(full_since=version))
    return version


@sa.event.listens_for(Session, "before_flush")
def _stamp_changed_trainees(session: Session, _context, _instances) -> None:
    changed = {id(o): o for o in session.new if isinstance(o, Trainee)}
    changed.update((id(o), o) for o in session.dirty
                   if isinstance(o, Trainee) and session.is_modified(o))
    for cert in (*session.new, *session.dirty, *session.deleted):
        if isinstance(cert, LanguageCertificate) and cert.trainee is not None:
            changed.setdefault(id(cert.trainee), cert.trainee)
    deleted = any(isinstance(o, Trainee) for o in session.deleted)
    if not changed and not deleted:
        return
    version = next_version(session, full=deleted)
    for trainee in changed.values():
        if trainee not in session.deleted:
            trainee.registry_version = version


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_rollback")
@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_version(session: Session, *_args) -> None:
    session.info.pop(_IN_TRANSACTION, None)
