import os
import sqlite3
import time

import pytest

from storage.checkpoint import AUTOCHECKPOINT_PAGES, Checkpointer, sqlite_path


def _wal_db(path):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
    conn.commit()
    return conn


def test_the_thread_copies_the_log_into_the_database_and_close_empties_it(tmp_path):
    db = str(tmp_path / "c.db")
    writer = _wal_db(db)
    for k in range(200):  # ~200 pages of log, far below the writers' own checkpoint
        writer.execute("INSERT INTO t VALUES (?, ?)", (k, os.urandom(3000)))
        writer.commit()
    wal = tmp_path / "c.db-wal"
    assert wal.stat().st_size > 500_000
    size_before = (tmp_path / "c.db").stat().st_size
    checkpointer = Checkpointer(db, interval=0.05).start()
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert checkpointer.checkpoints > 0
    # the pages are in the database file now: it grew by the log's contents
    assert (tmp_path / "c.db").stat().st_size > size_before + 500_000
    writer.execute("INSERT INTO t VALUES (?, ?)", (1000, b"x"))  # the writer goes on meanwhile
    writer.commit()
    checkpointer.close()
    assert wal.stat().st_size == 0  # the last pass truncates the log: the file alone is whole
    assert writer.execute("SELECT count(*) FROM t").fetchone()[0] == 201
    writer.close()


def test_a_failing_pass_is_logged_not_raised(tmp_path, caplog):
    checkpointer = Checkpointer(str(tmp_path / "missing" / "x.db"), interval=0.05)
    checkpointer.close()  # never started: the last pass alone, on a path that cannot open
    assert checkpointer.checkpoints == 0
    assert "sqlite checkpoint (TRUNCATE) failed" in caplog.text


def test_only_sqlite_files_get_a_checkpointer(tmp_path):
    assert sqlite_path(f"sqlite:///{tmp_path}/a.db") == f"{tmp_path}/a.db"
    assert sqlite_path(str(tmp_path / "b.db")) == str(tmp_path / "b.db")
    assert sqlite_path("sqlite://") is None and sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("postgresql://u:p@localhost/otklik") is None
    with pytest.raises(ValueError, match="interval: expected seconds > 0, got 0"):
        Checkpointer(str(tmp_path / "a.db"), interval=0)
