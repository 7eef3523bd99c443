"""The case-forms table: pymorphy's inflections of the gazetteers' names, computed at training."""
import pytest

from model import gazetteer
from model.artifact import load_artifact
from model.gazetteer import case_forms, clear_preloaded_case_forms, load_gazetteers, preload_case_forms
from model.paths import DATA_DIR, DEFAULT_ARTIFACT
from training.case_forms import build_table


@pytest.fixture
def clean_forms():
    """No preloaded forms during the test; the process's table (the session pipeline's) after it."""
    saved = dict(gazetteer._KNOWN_FORMS)
    clear_preloaded_case_forms()
    yield
    clear_preloaded_case_forms()
    preload_case_forms(saved)


def test_table_holds_what_loading_the_gazetteers_asks_for(clean_forms):
    table = build_table(DATA_DIR / "gazetteers")
    assert len(table) > 100
    forms = table[(("вятские", "поляны"), None)]
    assert ("вятских", "полянах") in forms and ("вятские", "поляны") in forms
    assert gazetteer._KNOWN_FORMS == {}  # building does not leave anything preloaded


def test_gazetteers_load_the_same_with_and_without_the_table(clean_forms):
    fresh = load_gazetteers(DATA_DIR / "gazetteers")
    preload_case_forms(build_table(DATA_DIR / "gazetteers"))
    cached = load_gazetteers(DATA_DIR / "gazetteers")
    for profile, gaz in fresh.items():
        assert cached[profile].names == gaz.names
        assert cached[profile].streets == gaz.streets
        assert cached[profile].stems == gaz.stems


def test_a_preloaded_answer_is_used_and_an_unknown_name_is_inflected(clean_forms):
    preload_case_forms({(("кызыл-уруп",), None): (("sentinel",),)})
    assert case_forms(("кызыл-уруп",)) == {("sentinel",)}
    assert ("омске",) in case_forms(("омск",))  # not in the table: pymorphy, as before


def test_preload_rejects_what_is_not_a_mapping(clean_forms):
    with pytest.raises(TypeError, match="expected a dict"):
        preload_case_forms([("омск",)])


def test_the_bundled_artifact_has_the_table_for_the_bundled_gazetteers(clean_forms):
    # a gazetteer edited without retraining still works (inflected at load), but the shipped pair
    # must agree, or the start-up saving is lost
    shipped = load_artifact(DEFAULT_ARTIFACT).get("case_forms")
    assert shipped == build_table(DATA_DIR / "gazetteers")
