"""`--engine dask` on a LocalCluster gives the same output as the local engine, and resumes."""
import json

import pytest

from batch.job import TagOptions, run_tag

from .conftest import write_jsonl


@pytest.mark.slow
def test_dask_local_cluster_matches_local_engine(tmp_path, real_posts):
    from batch.dask_engine import run_tag_dask

    posts = real_posts[:150]
    path = write_jsonl(tmp_path / "p.jsonl", posts + ["{bad"])
    local = run_tag(TagOptions(input=path, output=tmp_path / "local.jsonl"))
    dask_out = tmp_path / "dask.jsonl"
    summary = run_tag_dask(TagOptions(input=path, output=dask_out, workers=2))
    assert dask_out.read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert summary.tagged == local.tagged == 150 and summary.bad_rows == 1
    errors = [json.loads(x) for x in (tmp_path / "dask.jsonl.errors.jsonl").read_text().splitlines()]
    assert errors[0]["line"] == 151
