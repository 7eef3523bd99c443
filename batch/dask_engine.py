"""`otklik tag --engine dask`: the same tagging over partitions of the input on a Dask cluster.

- Parquet and CSV are partitioned by dask.dataframe, JSONL by dask.bag (lines, by byte blocks);
  rows keep their global row numbers for error reports.
- The model artifact is read once on the client and broadcast to every worker once
  (`client.scatter(..., broadcast=True)`); each worker process unpacks it and loads the pipeline
  once, then reuses it for every partition it gets.
- Each partition's result is written as a part exactly like the local engine's chunks, so a
  re-run resumes after the partitions already done and the output is assembled in input order.
"""
from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from model.errors import OtklikError
from model.pipeline import Pipeline

from .job import (
    Checkpoint,
    ChunkResult,
    Summary,
    TagOptions,
    _artifact_version,
    _assemble,
    _pipeline_options,
    _write_part,
    errors_path,
    fingerprint,
    tag_chunk,
)
from .reader import Row, csv_row_to_post, detect_format, parse_jsonl_lines
from .writer import writer_for

log = logging.getLogger(__name__)

BLOCKSIZE = 16 * 1024 * 1024

_worker_lock = threading.Lock()
_worker_pipelines: dict[tuple, Pipeline] = {}  # per worker process: (model version, steps) → pipeline


def _artifact_blob(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


def _worker_pipeline(blob: dict[str, bytes], options: TagOptions) -> Pipeline:
    meta = json.loads(blob["meta.json"])
    key = (meta.get("model_version"), tuple(options.fields or ()))
    with _worker_lock:
        pipeline = _worker_pipelines.get(key)
        if pipeline is None:
            folder = Path(tempfile.mkdtemp(prefix="otklik-model-"))
            for name, data in blob.items():
                (folder / name).write_bytes(data)
            pipeline = Pipeline.load(_pipeline_options(replace(options, artifact_path=folder)))
            _worker_pipelines[key] = pipeline
            shutil.rmtree(folder, ignore_errors=True)  # everything is in memory now
    return pipeline


def _clean_record(record: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in record.items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if hasattr(value, "to_pydatetime"):
            value = value.to_pydatetime()
        out[key] = value
    if "geo" not in out and "lat" in out and "lon" in out:
        out["geo"] = {"lat": out.pop("lat"), "lon": out.pop("lon")}
    return out


def _tag_partition(part: Any, index: int, first_row: int, fmt: str, blob: dict[str, bytes],
                   options: TagOptions) -> ChunkResult:
    pipeline = _worker_pipeline(blob, options)
    rows: list[Row] = []
    if fmt == "jsonl":
        rows = list(parse_jsonl_lines(part, first_row))
    elif fmt == "csv":
        for k, record in enumerate(part.to_dict("records")):
            rows.append(Row(first_row + k, csv_row_to_post({c: v for c, v in record.items()})))
    else:
        for k, record in enumerate(part.to_dict("records")):
            rows.append(Row(first_row + k, _clean_record(record)))
    return tag_chunk(pipeline, index, rows, options)


def _partitions(options: TagOptions, fmt: str, gz: bool):
    """(delayed partitions, their lengths) for the input."""
    import dask
    import dask.bag as db
    import dask.dataframe as dd

    path = str(options.input)
    if fmt == "jsonl":
        bag = db.read_text(path, blocksize=None if gz else BLOCKSIZE, compression="gzip" if gz else None)
        parts = bag.to_delayed()
    elif fmt == "csv":
        # multi-line quoted cells make byte-block splitting unsafe: one partition per file for .gz
        ddf = dd.read_csv(path, dtype=str, keep_default_na=False, blocksize=None if gz else BLOCKSIZE,
                          compression="gzip" if gz else None)
        parts = ddf.to_delayed()
    else:
        ddf = dd.read_parquet(path)
        parts = ddf.to_delayed()
    lengths = dask.compute(*[dask.delayed(len)(p) for p in parts])
    return parts, list(lengths)


def run_tag_dask(options: TagOptions, scheduler: str | None = None) -> Summary:
    from dask.distributed import Client, LocalCluster, as_completed

    started = time.monotonic()
    if options.output is None:
        raise OtklikError("--out: expected an output file with --engine dask, got none (stdout is local-only)")
    if not options.input.is_file():
        raise OtklikError(f"INPUT: expected an existing file, got {options.input}")
    fmt, gz = detect_format(options.input)
    model_version = _artifact_version(options.artifact_path)
    blob = _artifact_blob(options.artifact_path)

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=options.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    summary = Summary()
    try:
        output = options.output
        output.parent.mkdir(parents=True, exist_ok=True)
        writer = writer_for(output)
        # partitions, not chunk_size, are the unit of resume here
        cp = Checkpoint(output, fingerprint(replace(options, chunk_size=-1), model_version) + ":dask")
        done, complete = cp.start()
        if complete:
            state = cp.load() or {}
            return Summary(**{k: v for k, v in state.get("summary", {}).items() if k in Summary.__dataclass_fields__})
        for index in sorted(done):
            summary.add(json.loads(cp.part(index, "stats.json").read_text(encoding="utf-8")))
            summary.resumed_chunks += 1
        parts, lengths = _partitions(options, fmt, gz)
        blob_future = client.scatter(blob, broadcast=True)  # the model goes to every worker once
        first = 2 if fmt == "csv" else 1
        futures = []
        offset = 0
        for index, (part, length) in enumerate(zip(parts, lengths)):
            row0 = first + offset
            offset += length
            if index in done:
                continue
            part_future = client.compute(part)
            futures.append(client.submit(_tag_partition, part_future, index, row0, fmt, blob_future, options,
                                         pure=False))
        for future in as_completed(futures):
            result: ChunkResult = future.result()
            _write_part(cp, writer, result)
            summary.add(result.stats)
            log.info("partition %d done: %d rows", result.index, result.stats["rows"])
        summary.chunks = len(parts)
        _assemble(cp, writer, len(parts))
        summary.seconds = time.monotonic() - started
        summary.output = str(output)
        summary.errors_file = str(errors_path(output))
        cp.save({"fingerprint": cp.fp, "complete": True, "summary": summary.as_json()})
        shutil.rmtree(cp.parts, ignore_errors=True)
        return summary
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

