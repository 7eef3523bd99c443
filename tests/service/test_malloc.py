"""The service caps glibc's malloc arenas (service/malloc.py): checked on the arenas glibc reports."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.malloc import limit_arenas

ROOT = Path(__file__).resolve().parents[2]

# eight threads allocate at once; glibc's malloc_info then lists one <heap> per arena in use
COUNT_ARENAS = textwrap.dedent("""
    import ctypes, sys, tempfile, threading
    sys.path.insert(0, {root!r})
    from service.malloc import limit_arenas
    took = limit_arenas(int(sys.argv[1])) if sys.argv[1] != "default" else None
    start = threading.Barrier(8)
    def churn():
        start.wait()
        for _ in range(2000):
            junk = [bytearray(512) for _ in range(20)]
    threads = [threading.Thread(target=churn) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    libc = ctypes.CDLL("libc.so.6")
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        fp = libc.fopen(f.name.encode(), b"w")
        libc.malloc_info(0, fp)
        libc.fclose(fp)
        print(took, open(f.name).read().count("<heap nr="))
""").format(root=str(ROOT))


def arenas_in_use(limit: str) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run([sys.executable, "-c", COUNT_ARENAS, limit], capture_output=True, text=True,
                         env=env, check=True, timeout=60).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc arenas")
def test_two_arenas_at_most_where_glibc_would_open_more():
    _, default = arenas_in_use("default")
    took, capped = arenas_in_use("2")
    assert default > 2  # what the cap is for: threads that allocate at once get arenas of their own
    assert took == "True" and capped <= 2


def test_zero_leaves_glibc_alone_and_a_negative_count_is_refused(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_arenas(0) is False and "MALLOC_ARENA_MAX" not in os.environ
    with pytest.raises(ValueError, match="expected a count ≥ 0, got -1"):
        limit_arenas(-1)


def test_serve_caps_the_arenas_from_the_settings_before_uvicorn_starts(monkeypatch, tmp_path):
    """`otklik serve` applies OTKLIK_MALLOC_ARENA_MAX first and passes it on to its workers."""
    import uvicorn

    from otklik.cli import app
    from service.settings import get_settings

    calls = []
    monkeypatch.setattr("service.malloc.limit_arenas", lambda n: calls.append(("arenas", n)) or True)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append(("uvicorn", k["workers"])))
    monkeypatch.setenv("OTKLIK_MALLOC_ARENA_MAX", "3")
    monkeypatch.setenv("OTKLIK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("OTKLIK_WORKERS", "1")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--host", "127.0.0.1", "--port", "8799"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert calls == [("arenas", 3), ("uvicorn", 1)]
