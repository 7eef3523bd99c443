"""`otklik tag`: (re-)tag an archive in chunks, in parallel, resumably, losing nothing.

How nothing is lost:
- every chunk's taggings and bad rows go to `OUTPUT.parts/NNNNNNN.*` through a temporary file and an
  atomic rename, so a chunk is either wholly there or not at all;
- `OUTPUT.checkpoint.json` fingerprints the input and the arguments: a re-run with the same ones
  skips the chunks already written (resume); with other ones it starts over;
- when every chunk is there, OUTPUT and OUTPUT.errors.jsonl are assembled in input order, again
  through a temporary file and a rename, and the parts are removed.
"""
from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from model.errors import InputError, OtklikError
from model.paths import DATA_DIR, DEFAULT_ARTIFACT
from model.pipeline import STEP_ORDER, Pipeline, PipelineOptions
from model.profiles import Profiles

from .reader import Row, chunks, detect_format, read_rows
from .writer import OutputWriter, writer_for

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1


@dataclass
class TagOptions:
    input: Path
    output: Path | None = None  # None: JSONL to stdout, no resume
    region: str | None = None  # profile for posts without one; also keeps only that region's posts
    since: datetime | None = None  # keep posts detected/created at or after
    until: datetime | None = None  # ... and before
    fields: list[str] | None = None  # re-tag only these components (and what they need)
    workers: int = 1
    chunk_size: int = 1000
    assume_tz: str | None = None  # time zone for datetimes without an offset (else they are bad rows)
    # history for repeats and incidents: "memory" (fast; starts empty, so a resumed job does not see
    # the posts of the chunks done before the kill), or a SQLite path / SQLAlchemy URL (persistent,
    # slower); None = without them. Repeats depend on the order of posts: one process only.
    history: str | None = None
    artifact_path: Path = DEFAULT_ARTIFACT
    data_dir: Path = DATA_DIR
    default_region: str = "omsk"


@dataclass
class ChunkResult:
    index: int
    lines: list[str]  # tagging JSON lines, input order
    errors: list[dict[str, Any]]
    stats: dict[str, Any]


@dataclass
class Summary:
    rows: int = 0
    tagged: int = 0
    bad_rows: int = 0
    filtered: int = 0
    chunks: int = 0
    resumed_chunks: int = 0
    seconds: float = 0.0
    groups: dict[str, int] = field(default_factory=dict)
    exclusions: dict[str, int] = field(default_factory=dict)
    output: str | None = None
    errors_file: str | None = None

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def add(self, stats: dict[str, Any]) -> None:
        self.rows += stats["rows"]
        self.tagged += stats["tagged"]
        self.bad_rows += stats["bad_rows"]
        self.filtered += stats["filtered"]
        for key, attr in (("groups", self.groups), ("exclusions", self.exclusions)):
            for name, n in stats[key].items():
                attr[name] = attr.get(name, 0) + n

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["rate_per_s"] = round(self.rate, 1)
        return out


# ---------------------------------------------------------------- the work on one chunk


def _fix_naive(raw: dict[str, Any], tz: ZoneInfo) -> None:
    for key in ("created_at", "detected_at", "answered_at"):
        value = raw.get(key)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue  # validation reports it
            if parsed.tzinfo is None:
                raw[key] = parsed.replace(tzinfo=tz).isoformat()
        elif isinstance(value, datetime) and value.tzinfo is None:
            raw[key] = value.replace(tzinfo=tz)


def _post_time(post) -> datetime | None:
    return post.detected_at or post.created_at


def tag_chunk(pipeline: Pipeline, index: int, rows: list[Row], options: TagOptions) -> ChunkResult:
    """Validate, filter and tag one chunk. Bad rows become error records; nothing raises."""
    from service.schemas import post_from_mapping  # the one validator of CONTRACT.md

    tz = ZoneInfo(options.assume_tz) if options.assume_tz else None
    errors: list[dict[str, Any]] = []
    docs, filtered = [], 0
    for row in rows:
        if row.error is not None:
            errors.append({"line": row.number, "id": None, "field": None, "reason": row.error})
            continue
        raw = row.raw or {}
        if options.region and not raw.get("region"):
            raw["region"] = options.region
        if tz is not None:
            _fix_naive(raw, tz)
        try:
            post = post_from_mapping(raw)
            if options.region and post.region != options.region:
                filtered += 1
                continue
            if options.since or options.until:
                when = _post_time(post)
                if when is None or (options.since and when < options.since) or (options.until and when >= options.until):
                    filtered += 1
                    continue
            docs.append(pipeline.make_doc(post))
        except InputError as exc:
            rid = raw.get("id") if isinstance(raw.get("id"), str) else None
            errors.append({"line": row.number, "id": rid, "field": exc.field, "reason": exc.message})
    pipeline.run(docs)
    groups: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    lines = []
    for doc in docs:
        tagging = doc.to_tagging(pipeline.model_version).as_json()
        if options.fields:
            keep = {"id", "model_version", "region", *options.fields}
            if "exclusions" in options.fields:
                keep.add("actionable")
            if "repeats" in options.fields:
                keep.update({"repeat_of", "new_arguments", "incident_id"})
            tagging = {k: v for k, v in tagging.items() if k in keep}
        lines.append(json.dumps(tagging, ensure_ascii=False))
        if doc.topic is not None:
            groups[doc.topic.group] += 1
        for exclusion in doc.exclusions:
            reasons[exclusion.reason] += 1
    stats = {
        "rows": len(rows),
        "tagged": len(docs),
        "bad_rows": len(errors),
        "filtered": filtered,
        "groups": dict(groups),
        "exclusions": dict(reasons),
    }
    return ChunkResult(index, lines, errors, stats)


# ---------------------------------------------------------------- worker processes

_worker_pipeline: Pipeline | None = None  # one per worker process, loaded once by the initializer


def _pipeline_options(options: TagOptions, history: Any = None) -> PipelineOptions:
    steps = None
    if options.fields:
        steps = [f for f in options.fields if f in STEP_ORDER]
    return PipelineOptions(
        artifact_path=options.artifact_path,
        data_dir=options.data_dir,
        default_region=options.default_region,
        steps=steps,
        history=history,
    )


def _init_worker(options: TagOptions) -> None:
    global _worker_pipeline
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _worker_pipeline = Pipeline.load(_pipeline_options(options))
    gc.freeze()  # the model's ~200k objects: a full collection walked them in ~0.1 s


def _work(index: int, rows: list[Row], options: TagOptions) -> ChunkResult:
    assert _worker_pipeline is not None, "worker initializer did not run"
    return tag_chunk(_worker_pipeline, index, rows, options)


# ---------------------------------------------------------------- checkpoint and parts


def fingerprint(options: TagOptions, model_version: str) -> str:
    stat = options.input.stat()
    key = {
        "input": str(options.input.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "region": options.region,
        "since": options.since.isoformat() if options.since else None,
        "until": options.until.isoformat() if options.until else None,
        "fields": sorted(options.fields) if options.fields else None,
        "chunk_size": options.chunk_size,
        "assume_tz": options.assume_tz,
        "history": options.history,
        "model_version": model_version,
        "output_format": options.output.suffix if options.output else None,
        "version": CHECKPOINT_VERSION,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


class Checkpoint:
    """OUTPUT.checkpoint.json + OUTPUT.parts/: which chunks are done, for which input and arguments."""

    def __init__(self, output: Path, fp: str):
        self.output = output
        self.fp = fp
        self.path = output.with_name(output.name + ".checkpoint.json")
        self.parts = output.with_name(output.name + ".parts")

    def load(self) -> dict[str, Any] | None:
        if not self.path.is_file():
            return None
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return None
        return state if state.get("fingerprint") == self.fp else None

    def start(self) -> tuple[set[int], bool]:
        """(chunks already done, job already complete)."""
        state = self.load()
        if state is None:
            if self.path.exists() or self.parts.exists():
                log.warning("input or arguments changed since the last run of %s: starting over", self.output)
            shutil.rmtree(self.parts, ignore_errors=True)
            self.parts.mkdir(parents=True, exist_ok=True)
            self.save({"fingerprint": self.fp, "complete": False})
            return set(), False
        if state.get("complete") and self.output.is_file():
            return set(), True
        self.parts.mkdir(parents=True, exist_ok=True)
        done = {int(p.name.split(".")[0]) for p in self.parts.glob("*.stats.json")}
        return done, False

    def save(self, state: dict[str, Any]) -> None:
        _atomic_write_text(self.path, json.dumps(state, ensure_ascii=False))

    def part(self, index: int, kind: str) -> Path:
        return self.parts / f"{index:07d}.{kind}"


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_part(cp: Checkpoint, writer: OutputWriter, result: ChunkResult) -> None:
    writer.write_part(cp.part(result.index, writer.part_suffix), result.lines)
    errors = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in result.errors)
    _atomic_write_text(cp.part(result.index, "errors.jsonl"), errors)
    # the stats file is written last: its presence marks the chunk as done
    _atomic_write_text(cp.part(result.index, "stats.json"), json.dumps(result.stats, ensure_ascii=False))


# ---------------------------------------------------------------- progress


class Progress:
    """A tqdm bar on a terminal; a log line every `every` seconds otherwise."""

    def __init__(self, total: int | None, every: float = 10.0, stream: TextIO = sys.stderr):
        self.total = total
        self.done = 0
        self.every = every
        self.started = self.last = time.monotonic()
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="post", file=stream, smoothing=0.1)

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            rate = self.done / max(now - self.started, 1e-9)
            eta = f", ETA {int((self.total - self.done) / rate)} s" if self.total and rate > 0 else ""
            of = f"/{self.total}" if self.total else ""
            log.info("tagged %d%s rows, %.0f rows/s%s", self.done, of, rate, eta)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def count_rows(path: Path) -> int | None:
    """Rows in the input, cheaply, for the ETA (None when it would mean decompressing)."""
    fmt, gz = detect_format(path)
    if gz:
        return None
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    n = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += block.count(b"\n")
    return max(n - 1, 0) if fmt == "csv" else n


# ---------------------------------------------------------------- the job


def run_tag(options: TagOptions, stdout: TextIO | None = None) -> Summary:
    started = time.monotonic()
    detect_format(options.input)  # a clear error for an unknown format before any work
    if not options.input.is_file():
        raise OtklikError(f"INPUT: expected an existing file, got {options.input}")
    if options.workers < 1:
        raise OtklikError(f"--workers: expected 1 or more, got {options.workers}")
    if options.fields:
        unknown = [f for f in options.fields if f not in STEP_ORDER]
        if unknown:
            raise OtklikError(f"--fields: expected names from {', '.join(STEP_ORDER)}, got {', '.join(unknown)}")
    if options.assume_tz:
        ZoneInfo(options.assume_tz)  # raises for an unknown zone

    summary = Summary()
    if options.region:
        profiles = Profiles.load(options.data_dir / "profiles", default=options.default_region)
        if options.region not in profiles:
            raise InputError("--region", f"expected one of {', '.join(profiles.ids())}, got {options.region!r}")
    if options.history and options.workers > 1:
        raise OtklikError("--history: repeats depend on the order of posts, so expected --workers 1 with it, "
                          f"got --workers {options.workers}")
    history = None
    if options.history == "memory":
        from model.history import MemoryHistoryStore

        history = MemoryHistoryStore()
    elif options.history:
        from storage import open_store

        history = open_store(options.history)
    pipeline = Pipeline.load(_pipeline_options(options, history)) if options.workers == 1 else None
    # the loaded model (and a growing in-memory history) are long-lived: frozen, full collections
    # do not walk them again and again
    gc.freeze()
    model_version = pipeline.model_version if pipeline else _artifact_version(options.artifact_path)

    if options.output is None:
        out = stdout or sys.stdout
        for result in _in_order(_results(options, pipeline, skip=set())):
            for line in result.lines:
                out.write(line + "\n")
            for err in result.errors:
                log.warning("bad row at line %s: %s%s", err["line"], f"{err['field']}: " if err["field"] else "",
                            err["reason"])
            summary.add(result.stats)
            summary.chunks += 1
        out.flush()
        summary.seconds = time.monotonic() - started
        return summary

    output = options.output
    output.parent.mkdir(parents=True, exist_ok=True)
    writer = writer_for(output)
    cp = Checkpoint(output, fingerprint(options, model_version))
    done, complete = cp.start()
    if complete:
        state = cp.load() or {}
        log.info("%s is already complete for this input and these arguments", output)
        summary = Summary(**{k: v for k, v in state.get("summary", {}).items() if k in Summary.__dataclass_fields__})
        return summary
    for index in sorted(done):
        summary.add(json.loads(cp.part(index, "stats.json").read_text(encoding="utf-8")))
        summary.resumed_chunks += 1
    if done:
        log.info("resuming %s: %d chunks already done", output, len(done))
    for result in _results(options, pipeline, skip=done):
        _write_part(cp, writer, result)
        summary.add(result.stats)
    total_chunks = len(list(cp.parts.glob("*.stats.json")))
    summary.chunks = total_chunks
    _assemble(cp, writer, total_chunks)
    summary.seconds = time.monotonic() - started
    summary.output = str(output)
    summary.errors_file = str(errors_path(output))
    cp.save({"fingerprint": cp.fp, "complete": True, "summary": summary.as_json()})
    shutil.rmtree(cp.parts, ignore_errors=True)
    return summary


def errors_path(output: Path) -> Path:
    return output.with_name(output.name + ".errors.jsonl")


def _artifact_version(path: Path) -> str:
    from model.artifact import check_meta, read_meta

    meta = read_meta(path)
    check_meta(meta, path)
    return str(meta.get("model_version"))


def _results(options: TagOptions, pipeline: Pipeline | None, skip: set[int]) -> Iterator[ChunkResult]:
    """Chunk results; in input order for one worker, in completion order for several."""
    total = count_rows(options.input)
    progress = Progress(total)
    try:
        work = ((i, rows) for i, rows in enumerate(chunks(read_rows(options.input), options.chunk_size)))
        if pipeline is not None:
            for index, rows in work:
                if index in skip:
                    progress.update(len(rows))
                    continue
                result = tag_chunk(pipeline, index, rows, options)
                progress.update(len(rows))
                yield result
            return
        import multiprocessing as mp

        ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with ProcessPoolExecutor(options.workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(options,)) as pool:
            pending: set[Future] = set()
            for index, rows in work:
                if index in skip:
                    progress.update(len(rows))
                    continue
                pending.add(pool.submit(_work, index, rows, options))
                if len(pending) >= 2 * options.workers:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        result = fut.result()
                        progress.update(result.stats["rows"])
                        yield result
            for fut in pending:
                result = fut.result()
                progress.update(result.stats["rows"])
                yield result
    finally:
        progress.close()


def _in_order(results: Iterator[ChunkResult]) -> Iterator[ChunkResult]:
    """Re-order chunk results by index (workers finish out of order)."""
    waiting: dict[int, ChunkResult] = {}
    expected = 0
    for result in results:
        waiting[result.index] = result
        while expected in waiting:
            yield waiting.pop(expected)
            expected += 1
    for index in sorted(waiting):
        yield waiting[index]


def _assemble(cp: Checkpoint, writer: OutputWriter, total_chunks: int) -> None:
    indexes = sorted(int(p.name.split(".")[0]) for p in cp.parts.glob("*.stats.json"))
    if indexes != list(range(total_chunks)):
        raise OtklikError(f"expected chunks 0..{total_chunks - 1} in {cp.parts}, got {indexes[:10]}…")
    writer.assemble([cp.part(i, writer.part_suffix) for i in indexes], cp.output)
    errors = errors_path(cp.output)
    tmp = errors.with_name(f".{errors.name}.tmp")
    with open(tmp, "wb") as out:
        for i in indexes:
            with open(cp.part(i, "errors.jsonl"), "rb") as part:
                shutil.copyfileobj(part, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, errors)
