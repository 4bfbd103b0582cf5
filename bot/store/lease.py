"""Instances sharing one PostgreSQL: the leader lock and the count of live instances, as advisory locks."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)
# Two-key advisory locks: the first key says what the lock is for, the second is the schema's hash,
# so that deployments (or test runs) in other schemas of the same database do not see each other.
LEADER_KEY = 0x44540001  # held by the one instance that polls and receives Telegram updates
MEMBER_KEY = 0x44540002  # held shared by every running instance, to count them
MIGRATE_KEY = 0x44540003  # held while one instance migrates: two started together take turns
_SCHEMA = "hashtext(current_schema())"


@dataclass(frozen=True)
class Standing:
    leader: bool
    instances: int  # live instances on this database (schema), this one included


class InstanceLock:
    """Session-level advisory locks on a connection of their own, held for as long as the instance
    runs: PostgreSQL releases them the moment that session ends, so when the leader's process dies
    (or its connection does) another instance takes the lock at its next try.

    SQLite has neither advisory locks nor a second writer process worth having: there is one
    instance by definition, and it is always the leader."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.shared = engine.dialect.name == "postgresql"
        self._conn: Connection | None = None
        self._leader = False
        self._instances = 1

    def check(self) -> Standing:
        """Take the leader lock if it is free, confirm it if held; count the live instances. A
        database error counts as having lost the lock (the session that held it may be gone):
        the connection is dropped and the next check starts afresh."""
        if not self.shared:
            return Standing(True, 1)
        try:
            if self._conn is None:
                # Autocommit: an idle session holding locks must not sit in an open transaction.
                self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                self._conn.execute(text(f"SELECT pg_advisory_lock_shared({MEMBER_KEY}, {_SCHEMA})"))
                self._leader = False
            if not self._leader:
                self._leader = bool(self._conn.execute(
                    text(f"SELECT pg_try_advisory_lock({LEADER_KEY}, {_SCHEMA})")).scalar())
            mine, members = self._conn.execute(text(
                f"SELECT coalesce(bool_or(classid = {LEADER_KEY}::oid AND mode = 'ExclusiveLock'"
                f"                         AND pid = pg_backend_pid()), false),"
                f"       count(*) FILTER (WHERE classid = {MEMBER_KEY}::oid AND mode = 'ShareLock')"
                f"  FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2"
                f"   AND objid = {_SCHEMA}::oid"
                f"   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).one()
        except Exception as exc:  # any failure: we may no longer hold the lock, so act as if we do not
            log.warning("lost the connection holding the instance locks (%s: %s); trying again",
                        type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            self.release()
            return Standing(False, self._instances)  # the others still run: keep sharing the rate
        self._leader, self._instances = bool(mine), max(1, int(members))
        return Standing(self._leader, self._instances)

    def release(self) -> None:
        """Give up both locks (closing the session releases them)."""
        conn, self._conn, self._leader = self._conn, None, False
        if conn is not None:
            try:
                conn.invalidate()  # never back into the pool: the session and its locks end here
                conn.close()
            except Exception:  # a connection that is already broken has nothing left to release
                pass


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Two instances started at once (Compose with two replicas) would both run the migrations and
    the standings rebuild: on PostgreSQL the second waits here, then finds nothing left to do."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"SELECT pg_advisory_lock({MIGRATE_KEY}, {_SCHEMA})"))
        try:
            yield
        finally:
            conn.execute(text(f"SELECT pg_advisory_unlock({MIGRATE_KEY}, {_SCHEMA})"))
