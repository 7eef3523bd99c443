"""Dynamic batching of tagging requests: one thread runs the pipeline over whatever has queued up.

A single post pays the pipeline's per-call costs (sparse products, history queries, a database
commit) alone: ~5 ms, against ~1.2 ms a post in a batch. Requests put their posts on a queue; the
tagging thread takes everything waiting (up to `max_batch`) and tags it in one call. With no
backlog a request is tagged at once, alone (no waiting window, so no added latency); under load
the batches grow by themselves and the worker keeps up instead of queueing up.

A failing batch is re-run post by post, so one bad post fails only its own request.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")

_STOP = object()


class BatcherClosed(RuntimeError):
    pass


class Batcher(Generic[In, Out]):
    def __init__(self, run: Callable[[list[In]], list[Out]], max_batch: int = 256, name: str = "tagger",
                 on_batch: Callable[[int], None] | None = None,
                 after: Callable[[list[In], list[Out]], None] | None = None,
                 idle: Callable[[], None] | None = None, idle_after: float = 0.05, idle_at_most: float = 0.5,
                 step: Callable[[], bool] | None = None, step_after: float = 0.002):
        """after: work on a finished batch that the answers need not wait for but the next batch
        does; it runs on the tagging thread right after the results are handed out, before the
        next batch. idle: work that can wait (buffered history and review-queue writes): all of it
        runs once the queue has stayed empty for `idle_after` seconds, at least every
        `idle_at_most` seconds under steady load, and at close. step: one small piece of that work
        (a few milliseconds), run in the gaps between requests — when no request came for
        `step_after` seconds after a batch — while it returns True; so under steady load the
        buffers drain between requests instead of in one long pause that requests queue behind."""
        if max_batch < 1:
            raise ValueError(f"max_batch: expected at least 1, got {max_batch}")
        self.run = run
        self.after = after
        self.idle = idle
        self.idle_after = idle_after
        self.idle_at_most = idle_at_most
        self.step = step
        self.step_after = step_after
        self._idle_due = False  # batches ran since the idle work last ran
        self._step_due = False  # a step may have work to do
        self._idle_last = time.monotonic()
        self.max_batch = max_batch
        self.on_batch = on_batch
        self._queue: queue.Queue = queue.Queue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit_many(self, items: Sequence[In]) -> list[Future]:
        futures = []
        with self._lock:
            if self._closed:
                raise BatcherClosed("the tagging thread is stopped")
            for item in items:
                future: Future = Future()
                self._queue.put((item, future))
                futures.append(future)
        return futures

    def tag(self, items: Sequence[In]) -> list[Out]:
        """Tag the items (blocking) and return their results in order; a failed item raises its error."""
        return [f.result() for f in self.submit_many(items)]

    async def atag(self, items: Sequence[In]) -> list[Out]:
        """The same for an async caller: waits without holding a thread-pool thread."""
        futures = [asyncio.wrap_future(f) for f in self.submit_many(items)]
        return list(await asyncio.gather(*futures))

    def close(self, timeout: float = 30.0) -> None:
        """Finish what was submitted, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            if self._step_due:
                timeout = self.step_after
            elif self._idle_due:
                timeout = self.idle_after
            else:
                timeout = None
            try:
                first = self._queue.get(timeout=timeout)
            except queue.Empty:
                if self._step_due:
                    self._run_step()
                else:
                    self._run_idle()
                continue
            if first is _STOP:
                self._run_idle()
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._run_batch(batch)
            if stop:
                self._run_idle()
                return
            if self.idle is not None:
                self._idle_due = True
                self._step_due = self.step is not None
                if time.monotonic() - self._idle_last >= self.idle_at_most:
                    self._run_idle()

    def _run_step(self) -> None:
        try:
            self._step_due = bool(self.step())
        except Exception:  # noqa: BLE001 - idle work must not stop the tagging thread
            self._step_due = False
            log.exception("idle step failed")

    def _run_idle(self) -> None:
        self._idle_due = False
        self._step_due = False
        self._idle_last = time.monotonic()
        if self.idle is None:
            return
        try:
            self.idle()
        except Exception:  # noqa: BLE001 - idle work must not stop the tagging thread
            log.exception("idle work failed")

    def _run_batch(self, batch: list[tuple[In, Future]]) -> None:
        items = [item for item, _ in batch]
        try:
            results = self.run(items)
            if len(results) != len(items):
                raise RuntimeError(f"expected {len(items)} results from the tagging run, got {len(results)}")
        except Exception as exc:  # noqa: BLE001 - isolate the failing post, below
            if len(batch) == 1:
                log.exception("tagging failed")
                batch[0][1].set_exception(exc)
                return
            log.warning("a batch of %d failed; tagging its posts one by one", len(batch))
            for pair in batch:
                self._run_batch([pair])
            return
        if self.on_batch is not None:
            self.on_batch(len(items))
        for (_, future), result in zip(batch, results):
            future.set_result(result)
        if self.after is not None:
            try:
                self.after(items, results)
            except Exception:  # noqa: BLE001 - the answers are out; log and go on
                log.exception("after-batch work failed for %d items", len(items))
