"""Moving a SQLite database's write-ahead log into the database file, on a thread of its own.

In WAL mode a commit appends pages to the log; every ~1,000 pages the committing connection also
copies the log into the database and syncs it (an automatic checkpoint). The history's LSH bucket
rows land on random pages, so a save of 16 posts writes ~1 MB of log, and the tagging thread paid
for a checkpoint every few saves: ~1 ms a post, most of a save's cost and the largest single item
of a post's time once the service runs steadily. Here a thread checkpoints every `interval`
seconds instead (PASSIVE: it never blocks a reader or the writer; SQLite releases the GIL while it
copies), and the writers' own automatic checkpoint is only a safety net, at `AUTOCHECKPOINT_PAGES`.
"""
from __future__ import annotations

import logging
import sqlite3
import threading

import sqlalchemy as sa

log = logging.getLogger(__name__)

# the writers' automatic checkpoint (pages of 4 KB): rare with a checkpointer, and with none (a
# batch job) fewer and larger checkpoints, which copy a page written many times only once
AUTOCHECKPOINT_PAGES = 8192


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL (or plain path); None for other databases and in-memory SQLite."""
    from .migrate import database_url

    parsed = sa.engine.make_url(database_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return parsed.database


class Checkpointer:
    """Checkpoints the SQLite database at `path` every `interval` seconds until `close()`, which
    does a last, full one (the log is then empty: a copy of the database file alone is whole)."""

    def __init__(self, path: str, interval: float = 1.0):
        if interval <= 0:
            raise ValueError(f"interval: expected seconds > 0, got {interval}")
        self.path = path
        self.interval = interval
        self.checkpoints = 0  # completed passes, for tests and logs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)

    def start(self) -> "Checkpointer":
        self._thread.start()
        return self

    def close(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout)
        self._checkpoint("TRUNCATE")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._checkpoint("PASSIVE")

    def _checkpoint(self, mode: str) -> None:
        try:
            # a connection per pass: cheap next to the copy, and none is left open between passes
            conn = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False)
            try:
                busy, log_pages, copied = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            finally:
                conn.close()
        except sqlite3.Error:
            log.exception("sqlite checkpoint (%s) failed; the writers' own checkpoints remain", mode)
            return
        self.checkpoints += 1
        log.debug("sqlite checkpoint %s: busy=%s, log pages %s, copied %s", mode, busy, log_pages, copied)
