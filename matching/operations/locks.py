"""Row locks for check-then-write steps (STYLE 4b): the database decides, not Python.

``lock_rows(job, trainee)`` holds the write lock on each row until the transaction ends
and reloads it, so what the caller checks next (a headcount, the latest decision, whether a
worker is still available) cannot change before its write commits:

- PostgreSQL: ``SELECT … FOR UPDATE`` on each row, in the order given. Every caller locks
  in the same order (job order, then trainee; dispatch, then trainee), so two transactions
  never wait on each other in a cycle.
- SQLite has no row locks: a no-op ``UPDATE`` of the row takes the database's single write
  lock (waiting up to the driver's busy timeout while another writer holds it). Python's
  sqlite3 driver starts the transaction at that first write, so every read after it sees
  what the previous writer committed: the same effect as ``BEGIN IMMEDIATE``, only from
  the point where the check begins.
"""

import sqlalchemy as sa

from matching.extensions import db
from matching.models import Trainee
from matching.models.registry import next_version as next_registry_version


def lock_rows(*instances) -> None:
    """Lock each ORM instance's row for the rest of the transaction and reload it."""
    session = db.session
    session.flush()  # reloading must not drop what the caller changed before
    if any(isinstance(instance, Trainee) for instance in instances):
        next_registry_version()  # lock order: the registry version before trainee rows
    for instance in instances:
        mapper = sa.inspect(instance).mapper
        table = mapper.local_table
        key = table.c.id == instance.id
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.select(table.c.id).where(key).with_for_update())
        else:
            # Assigning every column that has an ``onupdate`` to itself keeps it unchanged
            # (the lock is not an edit: the ranking pool must not see a change).
            unchanged = {c.name: c for c in table.c if c.onupdate is not None}
            session.execute(sa.update(table).where(key).values(id=table.c.id, **unchanged))
        session.refresh(instance)  # read after the lock: what the last writer committed
