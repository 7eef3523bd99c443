"""Output formats of `otklik tag`: JSONL (one tagging per line) or Parquet (tags as columns/structs).

A writer writes one chunk's part atomically and assembles the parts, in order, into the output
through a temporary file and a rename.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_SPAN = pa.struct([("start", pa.int32()), ("end", pa.int32()), ("text", pa.string())])
_ALT = pa.struct([("name", pa.string()), ("group", pa.string()), ("score", pa.float32())])

TAGGING_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("region", pa.string()),
    ("topic", pa.struct([
        ("name", pa.string()), ("group", pa.string()), ("score", pa.float32()),
        ("alternatives", pa.list_(_ALT)), ("group_score", pa.float32()), ("urgent", pa.bool_()),
    ])),
    ("location", pa.struct([
        ("municipality", pa.string()), ("district", pa.string()), ("settlement", pa.string()),
        ("street", pa.string()), ("house", pa.string()), ("mentions", pa.list_(_SPAN)), ("source", pa.string()),
    ])),
    ("importance", pa.struct([("level", pa.string()), ("score", pa.float32()), ("reasons", pa.list_(pa.string()))])),
    ("exclusions", pa.list_(pa.struct([
        ("reason", pa.string()), ("score", pa.float32()), ("applies", pa.bool_()), ("evidence", pa.list_(_SPAN)),
    ]))),
    ("actionable", pa.bool_()),
    ("repeat_of", pa.list_(pa.string())),
    ("new_arguments", pa.bool_()),
    ("incident_id", pa.string()),
    ("route", pa.struct([
        ("executors", pa.list_(pa.struct([("name", pa.string()), ("role", pa.string()), ("score", pa.float32())]))),
        ("needs_review", pa.bool_()),
    ])),
    ("sla", pa.struct([
        ("profile", pa.string()), ("shortened", pa.bool_()), ("priority", pa.bool_()),
        ("detected_at", pa.string()), ("deadline", pa.string()),
        # milestones differ per profile: a JSON object of name → ISO datetime
        ("milestones", pa.string()), ("notes", pa.list_(pa.string())),
    ])),
    ("model_version", pa.string()),
])


def _fsync_replace(tmp: Path, path: Path) -> None:
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class OutputWriter:
    part_suffix = "jsonl"

    def write_part(self, path: Path, lines: list[str]) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for line in lines:
                f.write(line + "\n")
        _fsync_replace(tmp, path)

    def assemble(self, parts: list[Path], output: Path) -> None:
        tmp = output.with_name(f".{output.name}.tmp")
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out)
        _fsync_replace(tmp, output)


def _row_for_arrow(tagging: dict) -> dict:
    row = {name: tagging.get(name) for name in TAGGING_SCHEMA.names}
    sla = row.get("sla")
    if sla is not None:
        row["sla"] = {**sla, "milestones": json.dumps(sla.get("milestones") or {}, ensure_ascii=False)}
    return row


class ParquetOutputWriter(OutputWriter):
    part_suffix = "parquet"

    def write_part(self, path: Path, lines: list[str]) -> None:
        rows = [_row_for_arrow(json.loads(line)) for line in lines]
        table = pa.Table.from_pylist(rows, schema=TAGGING_SCHEMA)
        tmp = path.with_name(f".{path.name}.tmp")
        pq.write_table(table, tmp)
        _fsync_replace(tmp, path)

    def assemble(self, parts: list[Path], output: Path) -> None:
        tmp = output.with_name(f".{output.name}.tmp")
        with pq.ParquetWriter(tmp, TAGGING_SCHEMA) as writer:
            for part in parts:
                writer.write_table(pq.read_table(part, schema=TAGGING_SCHEMA))
        _fsync_replace(tmp, output)


def writer_for(output: Path) -> OutputWriter:
    if output.name.lower().endswith((".parquet", ".pq")):
        return ParquetOutputWriter()
    return OutputWriter()
