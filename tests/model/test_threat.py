"""Threat, call and harm rules on real sentences: forms, targets, figures of speech, spans."""
import pytest

from model.errors import DataError
from model.paths import DATA_DIR
from model.text import normalize
from model.threat import REASONS, StemIndex, ThreatLexicon, ThreatRules


@pytest.fixture(scope="module")
def rules():
    return ThreatRules.from_data(DATA_DIR)


def reasons(rules, text):
    return {f.reason for f in rules.findings(normalize(text))}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Я этого депутата закопаю, если он ещё раз сюда сунется.", {"threat_official"}),
        ("Сожгу машину главы района, пусть пешком походит по нашим ямам.", {"threat_official"}),
        ("Мэр, ты не жилец. Помяни моё слово.", {"threat_official"}),
        ("Пристрелить бы этого губернатора.", {"threat_official"}),
        ("Спалим вашу мэрию, если отключите отопление ещё раз.", {"threat_authority"}),
        ("Подорвём вашу администрацию, если школу закроют.", {"threat_authority"}),
        ("Люди, выходите на улицы! Хватит терпеть эту власть!", {"call_to_violence"}),
        ("Пора свергнуть эту власть, по-хорошему они не уйдут.", {"call_to_violence"}),
        ("К оружию, граждане!", {"call_to_violence"}),
        ("Вешать чиновников надо, другого выхода нет.", {"call_to_violence", "threat_official"}),
        ("Бейте мигрантов, они весь район заполонили!", {"call_to_violence"}),
        ("Я соседа сверху убью, если он ещё раз зальёт мне квартиру.", {"harm_intent"}),
        ("Отравлю собаку соседа, она лает всю ночь.", {"harm_intent"}),
        ("Я его убью, клянусь.", {"harm_intent"}),
    ],
)
def test_threats_calls_and_harm_are_found(rules, text, expected):
    assert reasons(rules, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # the hard negatives of the brief
        "Убил бы за такие дороги — шутка",
        "Надо бить тревогу: в школе третий день нет отопления.",
        "Власть должна ответить за то, что случилось с котельной.",
        "Убили дорогу грейдером, теперь по ней не проехать.",
        "Убитый двор на Ленина, 15, ни одной целой лавочки.",
        "Этот ролик может взорвать интернет.",
        "Пошла сжечь калории на новую спортплощадку, спасибо администрации!",
        "Бомба а не праздник! Спасибо организаторам Дня города.",
        # reports, requests, negation, figures of speech
        "Вчера на Садовой водитель сбил пешехода, нужен светофор.",
        "Ночью подожгли мусорные баки во дворе дома 12, полиция не приехала.",
        "Сосед угрожает мне, обещал сжечь машину, полиция бездействует.",
        "Не надо никого убивать, надо просто убрать мусор вовремя.",
        "Я не собираюсь никого убивать, я прошу о помощи.",
        "Вы нас просто убиваете этими тарифами.",
        "Готов убить время в очереди, лишь бы приняли документы.",
        "Повесьте, пожалуйста, расписание автобусов на остановке.",
        "Выходите на субботник в субботу, соберёмся в 10 у школы!",
        "Мы вас порвём на турнире по мини-футболу, приходите болеть!",
        "Мэр должен уйти в отставку, подпишите петицию.",
        "Надо снести старые гаражи, там собираются наркоманы.",
        "Пожилые люди не выходят на улицу из-за боязни получить травму.",
        "Во 2 парадной ш. Революции 18 отсутствует уборка лестниц.",
        "Прошу спилить дерево во избежание несчастных случаев.",
        "Мэр сказал, что «будем бить по проблемам точечно». Пока не видно.",
    ],
)
def test_figures_of_speech_reports_and_requests_are_not_threats(rules, text):
    assert rules.findings(normalize(text)) == []


def test_evidence_spans_are_in_original_coordinates(rules):
    original = "<p>Главе&nbsp;администрации передайте:</p><p>я <b>этого</b> депутата&nbsp;закопаю!</p>"
    findings = rules.findings(normalize(original))
    assert [f.reason for f in findings] == ["threat_official"]
    for span in findings[0].evidence:
        assert original[span.start:span.end] == span.text
    joined = " ".join(s.text for s in findings[0].evidence)
    assert "закопаю" in joined
    assert findings[0].score >= 0.5


def test_phrase_evidence_points_at_the_phrase(rules):
    original = "Народ!!! Выходите на улицы 🔥 хватит терпеть"
    (finding,) = rules.findings(normalize(original))
    assert finding.reason == "call_to_violence"
    (span,) = finding.evidence
    assert original[span.start:span.end] == span.text == "Выходите на улицы"


def test_an_ordinary_complaint_stops_at_the_word_screen(rules):
    text = normalize("Не горит фонарь у дома 5 по улице Ленина, уберите мусор и сломанные лавочки.")
    assert rules.candidates(text) == (False, [])
    assert text._tokens is None  # never tokenized


def test_predict_gives_one_list_per_doc(rules):
    from model.doc import Doc
    from model.records import Post

    docs = [Doc.from_post(Post(id=str(i), text=t), "omsk") for i, t in enumerate(
        ["Сожгу вашу администрацию!", "Спасибо за новую дорогу.", "Убью соседа."])]
    out = rules.predict(docs)
    assert [{f.reason for f in x} for x in out] == [{"threat_authority"}, set(), {"harm_intent"}]
    assert all(f.reason in REASONS for x in out for f in x)


def test_stem_index_matches_word_starts():
    index = StemIndex([("убь", "verb"), ("сожг", "verb"), ("ид", "x")])
    assert index.labels("убью") == {"verb"}
    assert index.labels("сожгу") == {"verb"}
    assert index.labels("идиот") == {"x"}
    assert index.labels("уборка") == set()


def test_malformed_lexicon_is_a_clear_error(tmp_path):
    path = tmp_path / "threat.yaml"
    path.write_text("harm_verbs: {убить: weapon}\n", encoding="utf-8")
    with pytest.raises(DataError, match="harm_verbs.убить: expected one of"):
        ThreatLexicon.load(path)
    path.write_text("harm_verbs: [убить]\n", encoding="utf-8")
    with pytest.raises(DataError, match="non-empty mapping"):
        ThreatLexicon.load(path)
    with pytest.raises(DataError, match="found none"):
        ThreatLexicon.load(tmp_path / "missing.yaml")
