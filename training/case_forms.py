"""Train the "case_forms" component: the case forms of every gazetteer name, computed once.

    python -m training.case_forms     # build and report the table's size (does not write the artifact)

Loading the gazetteers inflects each place and street name into six cases with pymorphy: ~0.5 s of
every service start. The table holds exactly what `model.gazetteer.case_forms` answered while the
bundled gazetteers were loaded, so nothing changes but the time; a place added to a gazetteer
file later is simply inflected at load, as before.
"""
from __future__ import annotations

import logging
from pathlib import Path

from model.gazetteer import (
    clear_preloaded_case_forms,
    load_gazetteers,
    preload_case_forms,
    record_case_forms,
    stop_recording_case_forms,
)
from model.paths import DATA_DIR

from .base import TrainedComponent, data_hashes

log = logging.getLogger(__name__)

GAZETTEER_DIR = DATA_DIR / "gazetteers"


def build_table(gazetteer_dir: Path = GAZETTEER_DIR) -> dict:
    """Every (words, gender) → case forms pair that loading the gazetteers in `gazetteer_dir` needs,
    computed afresh (a table preloaded in this process is set aside meanwhile)."""
    from model import gazetteer

    saved = dict(gazetteer._KNOWN_FORMS)
    clear_preloaded_case_forms()
    recorded = record_case_forms()
    try:
        load_gazetteers(gazetteer_dir)
    finally:
        stop_recording_case_forms()
        preload_case_forms(saved)
    return dict(recorded)


def train(shared_data_dir: Path, seed: int = 13) -> TrainedComponent:
    """`shared_data_dir` is unused: the table comes from the project's own gazetteers."""
    table = build_table(GAZETTEER_DIR)
    files = sorted(GAZETTEER_DIR.glob("*.yaml"))
    meta = {"names": len(table), "data": data_hashes(files, DATA_DIR)}
    log.info("case forms: %d names from %d gazetteers", len(table), len(files))
    return TrainedComponent("case_forms", table, meta)


def main() -> None:  # pragma: no cover - convenience entry point
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    table = build_table()
    log.info("%d names, %d forms", len(table), sum(len(v) for v in table.values()))


if __name__ == "__main__":  # pragma: no cover
    main()
