"""One command, one transaction: the operations a command calls flush; it commits here."""

import functools

from matching.extensions import db


def committed(command):
    """Commit once when ``command`` returns; roll back when it stops with an error (a
    ``ClickException``, ``SystemExit`` or anything else), so it leaves nothing behind."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            result = command(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return result

    return run
