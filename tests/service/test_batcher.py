"""The tagging thread: results in order, batches grow under load, one bad post fails alone."""
import threading
import time

import pytest

from service.batcher import Batcher, BatcherClosed


def test_results_come_back_in_order_and_batches_grow_under_load():
    sizes = []

    def slow_double(items):
        time.sleep(0.01)  # a pipeline call: while it runs, more requests queue up
        return [2 * x for x in items]

    batcher = Batcher(slow_double, max_batch=8, on_batch=sizes.append)
    results = {}

    def client(k):
        results[k] = batcher.tag([k, k + 1000])

    threads = [threading.Thread(target=client, args=(k,)) for k in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    batcher.close()
    assert results == {k: [2 * k, 2 * (k + 1000)] for k in range(40)}
    assert sum(sizes) == 80 and max(sizes) > 1 and max(sizes) <= 8


def test_a_failing_post_fails_only_its_own_request():
    def run(items):
        if "bad" in items:
            raise ValueError("expected a good item, got 'bad'")
        return [x.upper() for x in items]

    batcher = Batcher(run)
    futures = batcher.submit_many(["a", "bad", "c"])  # queued together: one batch, which fails
    assert futures[0].result() == "A" and futures[2].result() == "C"
    with pytest.raises(ValueError, match="got 'bad'"):
        futures[1].result()
    batcher.close()


def test_close_finishes_what_was_accepted_then_refuses():
    batcher = Batcher(lambda items: (time.sleep(0.005), items)[1])
    futures = batcher.submit_many(list(range(50)))
    batcher.close()
    assert [f.result(timeout=1) for f in futures] == list(range(50))
    with pytest.raises(BatcherClosed):
        batcher.tag([1])


def test_bad_max_batch_is_refused():
    with pytest.raises(ValueError, match="max_batch"):
        Batcher(lambda items: items, max_batch=0)


def test_after_work_runs_once_per_batch_after_the_answers_and_never_fails_them():
    seen = []

    def after(items, results):
        seen.append((list(items), list(results)))
        raise RuntimeError("the queue is down")

    batcher = Batcher(lambda items: [x * 10 for x in items], after=after)
    assert batcher.tag([1, 2]) == [10, 20]
    batcher.close()
    assert seen and sum(len(i) for i, _ in seen) == 2 and all(r == [x * 10 for x in i] for i, r in seen)


def test_idle_work_waits_for_an_empty_queue_and_runs_at_close():
    events = []

    def run(items):
        time.sleep(0.005)
        events.append(("batch", len(items)))
        return items

    batcher = Batcher(run, max_batch=4, idle=lambda: events.append(("idle", 0)), idle_after=0.05, idle_at_most=10)
    futures = batcher.submit_many(list(range(12)))  # queued at once: three batches back to back
    assert [f.result(timeout=2) for f in futures] == list(range(12))
    time.sleep(0.2)  # the queue stays empty: the idle work runs once, not again and again
    batcher.close()
    # no idle call between batches that had work waiting; one after the backlog went quiet; one at close
    assert events == [("batch", 4)] * 3 + [("idle", 0)] * 2


def test_failing_idle_work_does_not_stop_the_thread():
    def idle():
        raise RuntimeError("the review queue is down")

    batcher = Batcher(lambda items: items, idle=idle)
    assert batcher.tag([1]) == [1]
    assert batcher.tag([2]) == [2]
    batcher.close()


def test_idle_work_runs_at_least_every_so_often_under_steady_load():
    idles = []
    batcher = Batcher(lambda items: items, idle=lambda: idles.append(time.monotonic()), idle_after=10, idle_at_most=0.05)
    started = time.monotonic()
    while time.monotonic() - started < 0.3:  # a request every 5 ms: the queue never stays empty 10 s
        batcher.tag([1])
        time.sleep(0.005)
    assert 2 <= len(idles) <= 10
    batcher.close()


def test_steps_drain_the_buffers_in_the_gaps_between_requests():
    pending = []
    steps, idles = [], []

    def run(items):
        pending.extend(items)  # what the idle work must write
        return items

    def step():
        steps.append(len(pending))
        del pending[:2]
        return len(pending) >= 2

    batcher = Batcher(run, idle=lambda: idles.append(pending.clear()), idle_after=10, idle_at_most=10,
                      step=step, step_after=0.001)
    for k in range(20):  # a request every 10 ms: a gap after each
        assert batcher.tag([k, k]) == [k, k]
        time.sleep(0.01)
    # each gap drained the two new items in one step: nothing piled up, no full idle pass needed
    assert steps and max(steps) <= 4 and not idles
    assert len(pending) <= 2
    batcher.close()
    assert idles and not pending  # close runs the full idle work


def test_a_failing_step_does_not_stop_the_thread():
    def step():
        raise RuntimeError("the database is locked")

    batcher = Batcher(lambda items: items, idle=lambda: None, step=step, step_after=0.001)
    assert batcher.tag([1]) == [1]
    time.sleep(0.01)
    assert batcher.tag([2]) == [2]
    batcher.close()


def test_gc_keeper_freezes_survivors_and_refreshes_hourly():
    import gc

    from service.app import GcKeeper

    now = [0.0]
    keeper = GcKeeper(freeze_every=10, refresh_every=3600, clock=lambda: now[0])
    try:
        gc.unfreeze()
        survivors = [[i] for i in range(1000)]  # tracked, long-lived objects
        keeper.tick()
        assert gc.get_freeze_count() == 0  # not yet due
        now[0] = 11
        keeper.tick()
        frozen = gc.get_freeze_count()
        assert frozen >= len(survivors)
        now[0] = 3601
        cycle = []
        cycle.append(cycle)  # a garbage cycle created after the freeze ...
        del cycle
        keeper.tick()  # ... the hourly refresh unfreezes, collects, refreezes
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
