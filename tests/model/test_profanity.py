"""The мат matcher on real text: masked, look-alike, spaced and stretched forms fire with spans on
the offending word in ORIGINAL coordinates; innocent look-alikes and mild words never fire."""
from pathlib import Path

import pytest

from model.doc import Doc
from model.errors import DataError
from model.profanity import ProfanityDetector, ProfanityLexicon
from model.records import Post
from model.text import normalize


@pytest.fixture(scope="module")
def detector() -> ProfanityDetector:
    return ProfanityDetector.from_data()


MUST_FIRE = [
    # symbols inside words
    "х*й", "п@здец", "бл#", "е..ть", "бл*ть", "на**й", "х**ня", "пи**ец", "ох*енно", "з@еб@ли", "бл.ть",
    "пи*дите", "ох-ели",
    # Latin and digit look-alikes
    "xуй", "пиzдец", "6лядь", "e6ать", "xyй", "пи3дец", "бл9",
    # letters spelled apart
    "х у й", "б.л.я", "Х.У.Й", "п и з д е ц",
    # stretched letters
    "бляяяя", "хуууй",
    # prefixes and compounds, ё/е, case
    "заебали", "распиздяи", "долбоёбы", "долбаебы", "нахуя", "ёбаный", "ЁБ", "ПИЗДЕЦ", "отъебитесь", "сьебались",
    "уебки", "спиздили", "пиздёж", "ахуели", "ихнахуй", "ослоёб",
    # the vowel dropped
    "блдь",
    # the other roots
    "мудаки", "пидорасы", "гондон", "шлюха", "залупа", "манда", "хули",
    # abbreviations and transliteration
    "пздц", "blyat", "pizdec", "nahuy",
]

MUST_NOT_FIRE = [
    "оскорблять", "употреблять", "рубля", "корабля", "сабля", "колебания", "застрахуйте", "скипидар",
    "команда", "мандарин", "мандат", "хлебать", "Бляхер", "требовать", "небо", "хлеб", "ребята", "себя",
    "учебник", "гребень", "истребитель", "потребитель",
    # mild words that are not мат
    "блин", "фиг", "офигели", "задолбали", "хрень", "херня", "сука", "жопа",
    # other traps
    "хулиган", "мудрый", "хуже", "похуже", "страхуйся", "бледный", "бляха", "веб-сайт", "вебинар", "подъезд",
    "объехать", "съехать", "гондола", "Ебург", "Е6", "г.Омск", "т.е.", "Е.Л. Петрова", "ebay", "feng shui",
    "https://vk.com/ebalo", "ivan@hui-city.ru", "подебильнее", "пригородные пезда идут медленно", "о нах маршрутках",
    '"О правилах благоустройства"', "Ё-моё", "*Прошу выполнить",
]


@pytest.mark.parametrize("word", MUST_FIRE)
def test_obscene_word_fires_with_span_on_it(detector, word):
    original = f"Во дворе опять {word} , когда починят?"
    spans = detector.spans(normalize(original))
    assert len(spans) == 1, spans
    span = spans[0]
    assert original[span.start : span.end] == span.text
    assert span.text.replace(" ", "") == word.replace(" ", "")


@pytest.mark.parametrize("text", MUST_NOT_FIRE)
def test_innocent_or_mild_word_does_not_fire(detector, text):
    assert detector.spans(normalize(f"Скажите, {text} — это нормально?")) == []


def test_span_in_original_coordinates_after_html_and_entities(detector):
    original = "<p>Здравствуйте!&nbsp;Третий день</p><br/>&laquo;отопление&raquo; <b>бл@ть</b> нет"
    spans = detector.spans(normalize(original))
    assert [s.text for s in spans] == ["бл@ть"]
    assert original[spans[0].start : spans[0].end] == "бл@ть"


def test_vk_markup_before_the_word(detector):
    original = "[id12345|Администрация] нахуя вы спилили березы?"
    spans = detector.spans(normalize(original))
    start = original.index("нахуя")
    assert [(s.start, s.end, s.text) for s in spans] == [(start, start + 5, "нахуя")]


def test_several_words_each_get_a_span(detector):
    original = "Пиздец нахуй бля, опять вода"
    assert [s.text for s in detector.spans(normalize(original))] == ["Пиздец", "нахуй", "бля"]


def test_predict_gives_one_finding_per_doc(detector):
    docs = [Doc.from_post(Post(id="1", text="Дороги х**ня полная"), "omsk"),
            Doc.from_post(Post(id="2", text="Блин, дороги плохие"), "omsk")]
    found = detector.predict(docs)
    assert len(found) == 2
    assert found[1] == []
    (finding,) = found[0]
    assert finding.reason == "profanity"
    assert 0.9 <= finding.score <= 1.0
    assert [s.text for s in finding.evidence] == ["х**ня"]


def test_bad_lexicon_is_a_clear_data_error(tmp_path: Path):
    path = tmp_path / "profanity.yaml"
    path.write_text("roots:\n  - id: x\n    keys: [ху]\n    patterns: ['ху[']\n", encoding="utf-8")
    with pytest.raises(DataError, match="valid regex"):
        ProfanityDetector(ProfanityLexicon.load(path))
    path.write_text("roots: 5\n", encoding="utf-8")
    with pytest.raises(DataError, match="roots"):
        ProfanityLexicon.load(path)
