"""`otklik train`: run every registered component trainer and write the model artifact.

TRAINERS maps a component name to "module:function"; a trainer is
`train(shared_data_dir: Path, seed: int = 13) -> TrainedComponent`. Another engineer's trainer is
registered by adding one line.
`only` retrains the named components and keeps the others already in the artifact.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import random
import time
from pathlib import Path
from typing import Callable

import numpy as np

from model.artifact import Artifact, save_artifact
from model.errors import OtklikError

from .base import TrainedComponent

log = logging.getLogger(__name__)

TRAINERS: dict[str, str] = {
    "topic": "training.topic:train",
    "route": "training.route:train",
    "portal": "training.portal:train",
    "toxicity": "training.toxicity:train",
    "importance": "training.importance:train",
    "geo": "training.geo:train",
    "lemmas": "training.lemmas:train",
    "threat": "training.threat:train",
    "case_forms": "training.case_forms:train",
}


def _resolve(spec: str) -> Callable[..., TrainedComponent]:
    module_name, _, func_name = spec.partition(":")
    module = importlib.import_module(module_name)
    func = getattr(module, func_name, None)
    if func is None:
        raise OtklikError(f"trainer {spec}: expected a function {func_name} in {module_name}, got none")
    return func


def _accepts(func: Callable, name: str) -> bool:
    return name in inspect.signature(func).parameters


def run_train(shared_data_dir: Path, artifact_dir: Path, only: list[str] | None = None, seed: int = 13,
              feedback: Path | None = None) -> Artifact:
    """Train the registered components (all, or `only`) and save them into `artifact_dir`.

    feedback: curators' corrections (training.feedback export) passed to the trainers that take a
    `feedback` argument (the topic trainer adds them to its training rows).
    """
    names = list(TRAINERS) if not only else list(only)
    unknown = [n for n in names if n not in TRAINERS]
    if unknown:
        raise OtklikError(f"only: expected component names from {sorted(TRAINERS)}, got {unknown}")
    shared_data_dir = Path(shared_data_dir)
    if not shared_data_dir.is_dir():
        raise OtklikError(f"shared_data_dir: expected a directory with the shared data, got {shared_data_dir}")
    components, component_meta = {}, {}
    for name in names:
        trainer = _resolve(TRAINERS[name])
        random.seed(seed)
        np.random.seed(seed)
        started = time.time()
        log.info("training %s", name)
        kwargs = {"feedback": Path(feedback)} if feedback is not None and _accepts(trainer, "feedback") else {}
        trained = trainer(shared_data_dir, seed=seed, **kwargs)
        if trained.name != name:
            log.warning("trainer %s returned component %r; saved under %r", name, trained.name, name)
        components[name] = trained.estimator
        component_meta[name] = {**trained.meta, "seed": seed, "seconds": round(time.time() - started, 1)}
        log.info("trained %s in %.1f s", name, time.time() - started)
    return save_artifact(Path(artifact_dir), components, component_meta, extra_meta={"seed": seed})
