"""Streaming readers for archives: .jsonl, .csv, .parquet (optionally .gz), in chunks.

Each row comes out as a `Row(number, raw, error)`: `number` is the 1-based line number (JSONL, CSV:
the line where the row starts) or the row number (Parquet); `raw` the post fields as a dict, or
`error` the reason the row could not even be read. Nothing is ever read whole into memory.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

csv.field_size_limit(16 * 1024 * 1024)

FORMATS = ("jsonl", "csv", "parquet")
_INT_FIELDS = {"likes", "comments", "reposts", "views"}
_FLOAT_FIELDS = {"lat", "lon"}
_NESTED = ("engagement", "geo")


@dataclass
class Row:
    number: int
    raw: dict[str, Any] | None
    error: str | None = None


def detect_format(path: Path | str) -> tuple[str, bool]:
    """('jsonl' | 'csv' | 'parquet', gzipped?) from the file name."""
    name = Path(path).name.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    for fmt, suffixes in (("jsonl", (".jsonl", ".ndjson", ".json")), ("csv", (".csv",)), ("parquet", (".parquet", ".pq"))):
        if name.endswith(suffixes):
            if fmt == "parquet" and gz:
                raise ValueError(f"INPUT: expected .parquet (compressed inside), got a gzipped parquet file {path}")
            return fmt, gz
    raise ValueError(f"INPUT: expected a .jsonl, .csv or .parquet file (optionally .gz), got {Path(path).name}")


def _open_text(path: Path, gz: bool) -> io.TextIOBase:
    if gz:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _read_jsonl(path: Path, gz: bool) -> Iterator[Row]:
    with _open_text(path, gz) as f:
        yield from parse_jsonl_lines(f, 1)


def parse_jsonl_lines(lines, first_number: int) -> Iterator[Row]:
    """Rows of JSONL lines; `first_number` is the line number of the first line."""
    for number, line in enumerate(lines, first_number):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Row(number, None, f"expected a JSON object on the line, got invalid JSON ({exc.msg})")
            continue
        if not isinstance(raw, dict):
            yield Row(number, None, f"expected a JSON object on the line, got {type(raw).__name__}")
            continue
        yield Row(number, raw)


def _number(field: str, value: str) -> Any:
    try:
        if field in _INT_FIELDS:
            return int(value)
        if field in _FLOAT_FIELDS:
            return float(value)
    except ValueError:
        return value  # keep the text: validation then names the field and the reason
    return value


def csv_row_to_post(row: dict[str, str]) -> dict[str, Any]:
    """CSV cells are text: empty cells are absent; `geo`/`engagement` may be JSON objects or
    dotted columns (`geo.lat`, `engagement.likes`); `lat`/`lon` columns make a `geo`."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value is None or value == "":
            continue
        if "." in key and key.split(".", 1)[0] in _NESTED:
            outer, inner = key.split(".", 1)
            out.setdefault(outer, {})[inner] = _number(inner, value)
        elif key in _NESTED:
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError:
                out[key] = value  # validation says "expected an object"
        else:
            out[key] = value
    if "geo" not in out and "lat" in out and "lon" in out:
        out["geo"] = {"lat": _number("lat", out.pop("lat")), "lon": _number("lon", out.pop("lon"))}
    return out


def _read_csv(path: Path, gz: bool) -> Iterator[Row]:
    with _open_text(path, gz) as f:
        reader = csv.DictReader(f)
        start = 2
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Row(start, None, f"expected a CSV row, got a broken one ({exc})")
                start = reader.line_num + 1
                continue
            if None in row:
                yield Row(start, None, f"expected {len(reader.fieldnames or [])} columns, got more")
            else:
                yield Row(start, csv_row_to_post(row))
            start = reader.line_num + 1


def _plain_value(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        # parquet timestamps without a zone are UTC by the format's convention
        return value.replace(tzinfo=timezone.utc)
    return value


def _read_parquet(path: Path, batch_rows: int = 4096) -> Iterator[Row]:
    import pyarrow.parquet as pq

    number = 0
    with pq.ParquetFile(path) as pf:
        for batch in pf.iter_batches(batch_size=batch_rows):
            for rec in batch.to_pylist():
                number += 1
                raw = {k: _plain_value(v) for k, v in rec.items() if v is not None}
                if "geo" not in raw and "lat" in raw and "lon" in raw:
                    raw["geo"] = {"lat": raw.pop("lat"), "lon": raw.pop("lon")}
                yield Row(number, raw)


def read_rows(path: Path | str) -> Iterator[Row]:
    path = Path(path)
    fmt, gz = detect_format(path)
    if fmt == "jsonl":
        return _read_jsonl(path, gz)
    if fmt == "csv":
        return _read_csv(path, gz)
    return _read_parquet(path)


def chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
