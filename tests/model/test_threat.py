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


# ---- round 3: veiled threats without a harm verb, nominal calls, ambiguous imperatives.
# Sentences written for these tests, not copied from the eval files.
@pytest.mark.parametrize(
    "text, expected",
    [
        # whereabouts and routine of an official
        ("Мэр, мы выяснили, где ты паркуешься по вечерам.", {"threat_official"}),
        ("Глава, адрес твой мы знаем.", {"threat_official"}),
        ("Знаем, где его дача, так что депутату стоит быть сговорчивее.", {"threat_official"}),
        # a hint with the official's family or property exposed somewhere in the post
        ("У председателя комитета сын в третьей гимназии. Мало ли что.", {"threat_official"}),
        ("Глава, твоя машина каждую ночь стоит без присмотра. Жалко будет.", {"threat_official"}),
        ("Пусть вечером губернаторша одна по набережной не гуляет.", {"threat_official"}),
        # approach, talk "differently", not living till, leave while whole
        ("До этого директора ДЭУ мы ещё доберёмся.", {"threat_official"}),
        ("С начальником управы поговорим по-взрослому, без бумажек.", {"threat_official"}),
        ("Мэр, ты не доживёшь до следующего срока.", {"threat_official"}),
        ("Губеру лучше уезжать, пока цел.", {"threat_official"}),
        ("Председателя встретим вечерком у гаражей.", {"threat_official"}),
        # nominal calls and weapons gatherings
        ("Всех этих депутатов в расход!", {"call_to_violence", "threat_official"}),
        ("Взяточников — к стенке!", {"call_to_violence"}),
        ("В субботу собираемся у школы с кольями.", {"call_to_violence"}),
        # "громите" is both indicative and imperative: alone it is a call
        ("Громите эту управу, она всё равно не работает!", {"call_to_violence", "threat_authority"}),
        ("Вы громите наши дворы своей техникой.", set()),
        # future passive of a harm verb: a veiled threat to a body
        ("Окна в мэрии будут разбиты, вот увидите.", {"threat_authority"}),
        # new verbs; an animate noun is a person target; "бы" several words before the verb
        ("Наваляю этому соседу, как только увижу.", {"harm_intent"}),
        ("Я бы этого замминистра вздёрнул.", {"threat_official"}),
        # people from a body are officials; a call against "власть" is a call only
        ("Надо перестрелять всех ворюг из мэрии.", {"call_to_violence", "threat_official"}),
        ("Выходите, сносите эту власть!", {"call_to_violence"}),
    ],
)
def test_veiled_threats_and_calls_are_found(rules, text, expected):
    assert reasons(rules, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Мы доберёмся до правды и дойдём до прокуратуры, глава района от нас не спрячется.",
        "Депутату мало не покажется, когда соберём подписи жителей.",
        "Ждём главу у подъезда с цветами на открытии двора.",
        "Пусть мэр посмотрит на эти дороги и подумает, как по ним ходят дети.",
        "Мэр, ваши дети тоже ходят по этой дороге, вдруг что случится — кто ответит?",
        "Пусть начальник управы оглядывается на мнение жителей.",
        "Губернатор ответит по полной на выборах.",
        "Наш депутат сгорит на работе, столько обещаний надавал.",
        "Нужно объявления вешать на всех подъездах о собрании жильцов.",
        "Вы снова пожалеете о том, что не пришли на собрание.",
        "Мэрия получит своё финансирование только в марте.",
        "Голосуйте на выборах, доберёмся до каждого избирательного участка.",
    ],
)
def test_veiled_look_alikes_are_not_threats(rules, text):
    assert rules.findings(normalize(text)) == []


def test_a_phrase_requirement_must_name_a_known_pattern(tmp_path):
    path = tmp_path / "threat.yaml"
    path.write_text(
        "harm_verbs: {убить: person}\n"
        "phrases:\n  - {trigger: [мало], pattern: 'мало ли что', form: veiled, requires: nothing}\n",
        encoding="utf-8")
    with pytest.raises(DataError, match="requires: expected a key of `requirements`"):
        ThreatLexicon.load(path)


# round 9 (stop 20): general forms of blind8's misses, in other words than the set's
@pytest.mark.parametrize(
    "text, expected",
    [
        ("Глава Сидоров, мы тебя ещё дома навестим, поговорим про дорогу.", {"threat_official"}),
        ("Слышь, председатель, доиграешься.", {"threat_official"}),
        ("Начальник, лучше тебе не попадайся нам на глаза.", {"threat_official"}),
        ("Анна Петровна, сделайте уже ремонт, пока мы по-хорошему просим.", {"threat_official"}),
        ("Уважаемый Олег Игоревич, мы за вами давно наблюдаем.", {"threat_official"}),
        ("Мэр Громов, ваш коттедж в Липках такой деревянный. А лето обещают сухое.", {"threat_official"}),
        ("Депутат Кротов, у вас такая красивая баня на даче в Озёрках. Будет обидно, если с ней что-то случится.",
         {"threat_official"}),
        ("Я травить буду этих собак у гаражей.", {"harm_intent"}),
        ("Эту стаю перестреляю, разрешение у меня есть.", {"harm_intent"}),
        ("Поймаю этого вандала — так отделаю, что мать родная не узнает.", {"harm_intent"}),
        ("Петиции не работают. Нужен топор.", {"call_to_violence"}),
        ("Здание администрации надо сравнять с землёй.", {"call_to_violence", "threat_authority"}),
        ("Главу на вилы, и всех его замов следом.", {"call_to_violence", "threat_official"}),
        # a 3rd-person pronoun stands for the nearest agreeing noun, not for any official in the post
        ("Участковый так и не пришёл. Если эта псина ещё раз кинется на сына, я её пристрелю.", {"harm_intent"}),
    ],
)
def test_round9_threat_forms_are_found(rules, text, expected):
    assert reasons(rules, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Давайте без «убить всех», нужно требовать от администрации отлова собак.",
        "Доиграетесь до трагедии, глава: дети ходят в школу по льду.",
        "Лучше не попадать в эту поликлинику вечером, глава района знает.",
        "Мы следим за вашей работой, глава, и за выполнением обещаний.",
        "Аварийный барак на Садовой давно надо сравнять с землёй, администрация обещала.",
        "Берегите себя и близких, глава района просит не выходить в мороз.",
        "Для субботника нужен топор и пила, администрация обещала инструмент.",
        "Пенсионерам нашим жить осталось до весны, а газ глава так и не провёл.",
    ],
)
def test_round9_look_alikes_are_not_threats(rules, text):
    assert rules.findings(normalize(text)) == []
