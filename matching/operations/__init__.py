"""Every write lives here: functions validate, write, flush and return (views never commit)."""
