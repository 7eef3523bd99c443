"""Shared fixtures: the real pipeline on the bundled artifact, loaded once per test session."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

import model  # noqa: E402,F401  (natasha first: patches inspect for pymorphy2)


@pytest.fixture(scope="session")
def pipeline():
    from model.pipeline import Pipeline, PipelineOptions

    return Pipeline.load(PipelineOptions())
