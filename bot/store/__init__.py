"""The only part of Dealticker that writes to the database."""
import os
import pickle
import subprocess
import sys

from bot.store.base import utcnow
from bot.store.lease import migration_lock
from bot.store.news import NewsStore
from bot.store.outbox import Delivery, OutboxStore
from bot.store.reading import ReadingStore
from bot.store.standings import StandingsStore


class Store(OutboxStore, ReadingStore, StandingsStore, NewsStore):
    """Everything the bot keeps: news, stories and bidders (NewsStore, read back by ReadingStore),
    each bidder's standing (StandingsStore), chats and the outbox."""

    def migrate(self, revision: str = "head") -> None:
        with migration_lock(self.engine):
            super().migrate(revision)
            if revision == "head":
                self.ensure_standings()


# The child of migrate_apart: the URL comes on stdin (a password must not show in `ps`), a failure goes
# back pickled on stdout so that the parent raises the very same exception.
_CHILD = """
import pickle, sys
from bot.store import Store
store = None
try:
    store = Store(sys.stdin.read())
    store.migrate()
except Exception as exc:
    try:
        sys.stdout.buffer.write(pickle.dumps(exc))
    except Exception:
        sys.stdout.buffer.write(pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}")))
    sys.exit(1)
finally:
    if store is not None:
        store.close()
"""


def migrate_apart(url: str) -> None:
    """Store(url).migrate() in a short-lived child process: alembic and the migration scripts (about
    11 MB) then never load into the long-running poller. Returns when the schema is at head; raises the
    child's exception when it failed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}
    done = subprocess.run([sys.executable, "-c", _CHILD], input=url.encode(), stdout=subprocess.PIPE, env=env)
    if done.returncode == 0:
        return
    try:
        error = pickle.loads(done.stdout)
    except Exception:  # the child died before it could say why (killed, out of memory)
        error = RuntimeError(f"the migration process ended with exit code {done.returncode}")
    raise error


__all__ = ["Delivery", "Store", "migrate_apart", "utcnow"]
