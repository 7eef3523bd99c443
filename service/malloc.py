"""At most a few glibc malloc arenas in a service process.

glibc gives threads that allocate at the same time arenas of their own (up to 8 per core), and
memory freed into one arena is not handed to another; a worker's event loop and tagging thread
trade objects all the time (requests in, answers out), so free memory piles up in arenas that no
longer serve the thread that needs it. At 100 posts/s with a growing history a worker's RSS rose
+57 MB in 4 minutes with glibc's default and +18 / +22 MB with two arenas (BENCHMARKS.md, stop
18); Python's own allocations grew only by the bounded caches.
"""
from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def limit_arenas(arenas: int) -> bool:
    """Cap this process's malloc arenas at `arenas` (0: leave glibc's default) and set
    MALLOC_ARENA_MAX so that worker processes started from here start capped. True when glibc
    took it; False elsewhere (musl, macOS), where nothing changes."""
    if arenas < 0:
        raise ValueError(f"arenas: expected a count ≥ 0, got {arenas}")
    if arenas == 0:
        return False
    os.environ["MALLOC_ARENA_MAX"] = str(arenas)
    try:
        # by its soname: ctypes.util.find_library would run ldconfig at every start
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        log.info("malloc arenas: not glibc, left as they are")
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(M_ARENA_MAX, arenas) == 1
