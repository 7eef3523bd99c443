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
