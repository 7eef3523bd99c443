"""ExclusionTagger: every detected reason is listed, `applies` follows the doc's profile, findings
of one reason merge, and the optional insult/threat detector plugs in."""
import pytest

from model.doc import Doc
from model.exclusions import ExclusionTagger, merge_findings
from model.paths import DATA_DIR
from model.profiles import Profiles
from model.records import Finding, Post, Span


@pytest.fixture(scope="module")
def profiles() -> Profiles:
    return Profiles.load(DATA_DIR / "profiles")


@pytest.fixture(scope="module")
def tagger(profiles) -> ExclusionTagger:
    return ExclusionTagger.from_data(DATA_DIR, profiles)


MAT = "Третий день нет горячей воды на Ленина 5, заебали уже!"
AD = "Займы до 30 000 ₽ без отказа и справок, деньги на карту за 5 минут! Пишите в личку"
CHATTER = "Доброе утро всем! Хорошего дня 😊"
COMPLAINT = "Когда уберут снег во дворе на Ленина 5?"


def tag(tagger, text, region):
    doc = Doc.from_post(Post(id="1", text=text), region)
    tagger([doc])
    return doc


@pytest.mark.parametrize("region, applies", [
    ("omsk", True), ("vyatskiye_polyany", True), ("altai_krai", True), ("krymsk", False),
])
def test_profanity_applies_by_profile(tagger, profiles, region, applies):
    doc = tag(tagger, MAT, region)
    assert [e.reason for e in doc.exclusions] == ["profanity"]
    (exc,) = doc.exclusions
    assert exc.applies is applies
    assert exc.applies is ("profanity" in profiles.get(region).exclusions)
    assert [s.text for s in exc.evidence] == ["заебали"]
    assert doc.actionable is (not applies)


@pytest.mark.parametrize("region", ["vyatskiye_polyany", "omsk", "altai_krai", "zelenchuk", "krymsk", "spb", "kursk"])
def test_every_reason_listed_applies_follows_profile(tagger, profiles, region):
    profile = profiles.get(region)
    for text, reason in ((AD, "advertising"), (CHATTER, "off_topic")):
        doc = tag(tagger, text, region)
        assert [e.reason for e in doc.exclusions] == [reason]
        assert doc.exclusions[0].applies is (reason in profile.exclusions)


def test_krymsk_applies_nothing(tagger):
    doc = tag(tagger, "Займы без отказа, пишите в лс, бл*ть", "krymsk")
    assert {e.reason for e in doc.exclusions} == {"profanity", "advertising"}
    assert not any(e.applies for e in doc.exclusions)
    assert doc.actionable


def test_clean_complaint_has_no_exclusions_and_keeps_topic(tagger):
    doc = tag(tagger, COMPLAINT, "vyatskiye_polyany")
    assert doc.exclusions == []
    assert doc.actionable


def test_an_ad_is_not_also_off_topic(tagger):
    doc = tag(tagger, "Маникюр, педикюр, наращивание ресниц. Акция -30%. Запись в ЛС", "vyatskiye_polyany")
    assert [e.reason for e in doc.exclusions] == ["advertising"]


class _FakeAbuse:
    """Stands in for model.toxicity's detector (another engineer's module): only the protocol."""

    name = "abuse"

    def predict(self, docs):
        return [[Finding("insult", 0.8, [Span(0, 3, d.post.text[:3])]),
                 Finding("profanity", 0.7, [Span(0, 3, d.post.text[:3])])] for d in docs]


def test_abuse_detector_findings_are_merged(profiles):
    tagger = ExclusionTagger.from_data(DATA_DIR, profiles, abuse_detector=_FakeAbuse())
    doc = tag(tagger, MAT, "omsk")
    reasons = {e.reason: e for e in doc.exclusions}
    assert set(reasons) == {"profanity", "insult"}
    assert reasons["profanity"].score >= 0.9  # max of both
    assert [s.text for s in reasons["profanity"].evidence] == ["Тре", "заебали"]  # union, in text order


def test_real_abuse_detector_plugs_in(profiles):
    from model.toxicity import AbuseDetector

    tagger = ExclusionTagger.from_data(DATA_DIR, profiles, abuse_detector=AbuseDetector.from_data(DATA_DIR))
    docs = [Doc.from_post(Post(id=str(i), text=t), "vyatskiye_polyany") for i, t in enumerate([MAT, COMPLAINT])]
    tagger(docs)
    assert "profanity" in {e.reason for e in docs[0].exclusions}
    assert docs[1].exclusions == []


def test_merge_rejects_unknown_reason():
    with pytest.raises(ValueError, match="expected a reason"):
        merge_findings([Finding("rudeness", 0.5, [])])


def test_rerun_keeps_the_repeats_reason(tagger):
    from model.records import Exclusion

    doc = Doc.from_post(Post(id="1", text=MAT), "omsk")
    doc.exclusions = [Exclusion("repeat_no_new_arguments", 1.0, True, [])]
    tagger([doc])
    tagger([doc])
    assert [e.reason for e in doc.exclusions] == ["profanity", "repeat_no_new_arguments"]


class _Recording:
    """A fallback that records the docs it was given and finds an insult in each."""

    name = "recording"
    unless = frozenset({"profanity", "insult"})

    def __init__(self):
        self.seen: list[str] = []

    def predict(self, docs):
        self.seen.extend(d.post.id for d in docs)
        return [[Finding("insult", 0.95, [Span(0, 2, d.text.original[:2])])] for d in docs]


def test_a_fallback_sees_only_the_posts_where_nothing_of_unless_was_found(tagger, profiles):
    fallback = _Recording()
    with_fallback = ExclusionTagger(profiles, tagger.detectors, fallbacks=[fallback])
    docs = [Doc.from_post(Post(id=str(i), text=t), "omsk") for i, t in enumerate([MAT, AD, COMPLAINT])]
    with_fallback(docs)
    assert fallback.seen == ["1", "2"]  # the мат post is skipped; an ad is not in `unless`
    assert [e.reason for e in docs[0].exclusions] == ["profanity"]
    assert "insult" in [e.reason for e in docs[1].exclusions] and "advertising" in [e.reason for e in docs[1].exclusions]
    assert [e.reason for e in docs[2].exclusions] == ["insult"]


def test_a_fallback_with_the_wrong_number_of_results_is_an_error(tagger, profiles):
    class Broken(_Recording):
        def predict(self, docs):
            return []

    broken = ExclusionTagger(profiles, tagger.detectors, fallbacks=[Broken()])
    with pytest.raises(ValueError, match="expected 1 results, got 0"):
        broken.predict([Doc.from_post(Post(id="1", text=COMPLAINT), "omsk")])
