"""Label mappings, a tiny-data training run through run_train, the artifact round trip and refusal,
and the evaluation report."""
import gzip
import json
import logging
import shutil

import pandas as pd
import pytest

from model.artifact import load_artifact
from model.errors import ArtifactError, DataError, OtklikError
from model.paths import SHARED_DATA_DIR
from model.route import RouteTagger
from model.rubricator import load_rubricator
from model.topic import TopicTagger
from training import appeals
from training import train as train_module
from training.evaluate import run_evaluate
from training.train import run_train

SPB = SHARED_DATA_DIR / appeals.SPB_FILE
KURSK = SHARED_DATA_DIR / appeals.KURSK_FILE


def test_spb_mapping_covers_every_label_of_the_data():
    labels = pd.read_csv(SPB, usecols=["category", "reason"]).drop_duplicates()
    mapping = appeals.load_mapping("spb")
    missing = [(c, r) for c, r in labels.itertuples(index=False) if (c, r) not in mapping.labels]
    assert not missing
    # 125 portal reasons (124 names: "Неубранный снег" exists under two categories)
    assert len(labels) == len(mapping.labels) == 125


def test_kursk_mapping_covers_every_theme_but_the_test_category():
    themes = set(pd.read_csv(KURSK, usecols=["Тематика"])["Тематика"])
    mapping = appeals.load_mapping("kursk")
    assert mapping.drop == {"Тестовая категория"}
    assert themes - mapping.drop == {k[0] for k in mapping.labels}
    assert len(themes) == 161


def test_mapping_rejects_an_unknown_topic_or_a_wrong_group(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "key: [theme]\nlabels:\n- {theme: x, topic: Нет такой темы}\n", encoding="utf-8")
    with pytest.raises(DataError, match="topic"):
        appeals.load_mapping("bad", directory=tmp_path)
    (tmp_path / "bad2.yaml").write_text(
        "key: [theme]\nlabels:\n- {theme: x, topic: Отсутствие горячей воды, group: Дороги}\n", encoding="utf-8")
    with pytest.raises(DataError, match="group"):
        appeals.load_mapping("bad2", directory=tmp_path)


def test_split_keeps_authors_and_texts_apart():
    df = pd.DataFrame({"order": range(10), "author": list("aabbccddea"), "clean": [f"t{i}" for i in range(9)] + ["t0"]})
    train, test = appeals.split_by_time_and_author(df, test_frac=0.3)
    assert list(train["order"]) == list(range(7))
    # row 7 (author d, seen in train) and row 9 (author a, text t0 seen) are leaks; row 8 (author e) stays
    assert list(test["order"]) == [8]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny copy of the real data (subsets, in a temp dir) and a trained artifact from it."""
    root = tmp_path_factory.mktemp("tiny")
    shared = root / "shared"
    (shared / appeals.SPB_FILE).parent.mkdir(parents=True)
    (shared / appeals.KURSK_FILE).parent.mkdir(parents=True)
    spb = pd.read_csv(SPB)
    spb = spb[spb["district"].isin(["Невский", "Выборгский", "Центральный"])].sample(900, random_state=1)
    with gzip.open(shared / appeals.SPB_FILE, "wt", encoding="utf-8") as f:
        spb.sort_values("petition_dt").to_csv(f, index=False)
    pd.read_csv(KURSK).sample(300, random_state=1).to_csv(shared / appeals.KURSK_FILE, index=False)
    lines = appeals.EXAMPLES_FILE.read_text(encoding="utf-8").splitlines()
    examples = root / "topics.jsonl"
    examples.write_text("\n".join(lines[::12]) + "\n", encoding="utf-8")
    informal = root / "informal.jsonl"
    informal.write_text("\n".join(appeals.INFORMAL_EVAL_FILE.read_text(encoding="utf-8").splitlines()[::10]) + "\n",
                        encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setattr(appeals, "EXAMPLES_FILE", examples)
    mp.setattr(appeals, "INFORMAL_EVAL_FILE", informal)
    artifact = run_train(shared, root / "artifact", only=["topic", "route"], seed=13)
    yield {"root": root, "shared": shared, "artifact": artifact, "mp": mp}
    mp.undo()


def test_tiny_training_run_writes_a_complete_artifact(tiny):
    artifact = tiny["artifact"]
    assert set(artifact.components) == {"topic", "route"}
    meta = artifact.meta["components"]
    assert meta["topic"]["seed"] == 13 and artifact.meta["seed"] == 13
    assert set(meta["topic"]["metrics"]) == {"spb_test", "kursk_test", "examples_heldout", "informal"}
    assert "per_class" in meta["topic"]["metrics"]["spb_test"]["group"]
    assert any(k.endswith("spb_appeals_2020_10_to_2021_03.csv.gz") for k in meta["topic"]["data_sha256"])
    assert {"spb", "kursk"} <= set(meta["route"]["metrics"])
    assert meta["route"]["metrics"]["spb"]["test"]["top3"] >= meta["route"]["metrics"]["spb"]["test"]["top1"]
    kursk = meta["route"]["metrics"]["kursk"]
    # Kursk: the id-order split and the grouped random 5-fold CV (every row held out once)
    assert set(kursk) == {"test", "cv"}
    assert kursk["cv"]["folds"] == 5 and kursk["cv"]["n"] == meta["route"]["sizes"]["kursk"]["rows"]
    assert 0.0 < kursk["cv"]["top1"] <= kursk["cv"]["top3"] <= 1.0
    assert "ЖКХ" in meta["topic"]["labels"]["groups"]


def test_artifact_round_trip_tags_real_text(tiny):
    loaded = load_artifact(tiny["artifact"].path)
    tagger = TopicTagger(loaded.get("topic"), load_rubricator())
    router = RouteTagger(loaded.get("route"))
    from model.doc import Doc
    from model.records import Location, Post

    doc = Doc.from_post(Post(id="1", text="В парадной грязно, уборку не делают месяц"), "spb")
    doc.location = Location(district="Невский")
    tagger([doc])
    router([doc])
    assert doc.topic is not None and doc.route.executors
    assert doc.route.executors[0].name.endswith("Невского района") or doc.route.needs_review


def test_training_is_reproducible(tiny, tmp_path):
    again = run_train(tiny["shared"], tmp_path / "again", only=["topic"], seed=13)
    a, b = tiny["artifact"].get("topic"), again.get("topic")
    texts = ["нет горячей воды", "яма на дороге", "мусор во дворе не вывозят"]
    pa, pb = a.predict_proba(texts), b.predict_proba(texts)
    assert (pa[0] == pb[0]).all() and (pa[1] == pb[1]).all()


def test_incompatible_artifact_is_refused(tiny, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny["artifact"].path, copy)
    meta = json.loads((copy / "meta.json").read_text(encoding="utf-8"))
    (copy / "meta.json").write_text(json.dumps({**meta, "format_version": 999}), encoding="utf-8")
    with pytest.raises(ArtifactError, match="format version"):
        load_artifact(copy)
    (copy / "meta.json").write_text(json.dumps({**meta, "sklearn_version": "0.20.0"}), encoding="utf-8")
    with pytest.raises(ArtifactError, match="scikit-learn"):
        load_artifact(copy)
    # a format-1 artifact (joblib files) is refused by its version, a damaged component by its file
    (copy / "meta.json").write_text(json.dumps({**meta, "format_version": 1}), encoding="utf-8")
    with pytest.raises(ArtifactError, match="expected artifact format version 2, got 1"):
        load_artifact(copy)
    (copy / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    (copy / "topic.pkl.gz").write_bytes(b"not a pickle")
    with pytest.raises(ArtifactError, match="topic.pkl.gz: expected a gzip-compressed pickle"):
        load_artifact(copy)


def test_registry_refuses_missing_trainers_and_unknown_names(tiny, monkeypatch):
    monkeypatch.setitem(train_module.TRAINERS, "future", "training.not_written_yet:train")
    with pytest.raises(ModuleNotFoundError, match="not_written_yet"):
        run_train(tiny["shared"], tiny["root"] / "none", only=["future"])
    monkeypatch.setitem(train_module.TRAINERS, "future", "training.topic:no_such_function")
    with pytest.raises(OtklikError, match="no_such_function"):
        run_train(tiny["shared"], tiny["root"] / "none", only=["future"])
    with pytest.raises(OtklikError, match="only"):
        run_train(tiny["shared"], tiny["root"] / "none", only=["nonsense"])


def test_evaluate_on_a_gold_file_writes_the_report(tiny, tmp_path):
    gold = tmp_path / "gold.jsonl"
    rows = [
        {"text": "Третий день нет горячей воды, управляйка трубку не берёт", "group": "ЖКХ",
         "topic": "Отсутствие горячей воды"},
        {"text": "В парадной не горит свет", "group": "ЖКХ", "region": "spb", "district": "Невский",
         "executor": "СПб ГКУ ЖА Невского района"},
        {"text": "яма на дороге у школы", "group": "Дороги"},
    ]
    gold.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    results = run_evaluate(gold, tiny["artifact"].path, tmp_path / "report")
    assert results["gold"]["group"]["n"] == 3
    assert results["gold"]["executor"]["n"] == 1
    for name in ("evaluation.md", "evaluation.json", "confusion_groups.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0
    assert "precision" in (tmp_path / "report" / "evaluation.md").read_text(encoding="utf-8")


def test_bad_gold_file_names_the_line_and_field(tmp_path, tiny):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "нет воды", "topic": "Нет такой темы"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:1: topic"):
        run_evaluate(bad, tiny["artifact"].path, tmp_path / "r")


def test_portal_component_trains_and_reports_its_split():
    from model.paths import SHARED_DATA_DIR
    from training import appeals
    from training.portal import train

    if not (SHARED_DATA_DIR / appeals.KURSK_FILE).is_file():
        pytest.skip("the shared Kursk data is not beside the repo")
    trained = train(SHARED_DATA_DIR, seed=13)
    assert trained.name == "portal" and set(trained.estimator) == {"kursk"}
    test = trained.meta["metrics"]["kursk"]["test"]
    assert test["n"] > 300 and 0.45 <= test["top1"] <= test["top3"] <= 1.0
    assert test["group_accuracy_of_top1"] >= 0.7
    assert trained.meta["sizes"]["categories"] > 100
