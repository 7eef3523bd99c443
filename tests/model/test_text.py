"""Normalization keeps offsets into the original text, whatever was stripped or decoded."""
import pytest

from model.text import lemmatize, lower_yo, normalize


def assert_spans_map_back(text):
    for tok in text.tokens:
        span = text.span(tok.start, tok.end)
        assert text.original[span.start:span.end] == span.text
        # the original piece normalizes to the token (entities, NFKC and markup aside)
        assert normalize(span.text).clean.lower() == tok.text.lower() or "&" in span.text


def test_html_and_entities_are_stripped_with_offsets():
    original = "<p>Нет&nbsp;горячей воды на ул.&nbsp;Ленина, 5</p><p>Управляйка молчит!</p>"
    text = normalize(original)
    assert text.clean == "Нет горячей воды на ул. Ленина, 5 Управляйка молчит!"
    start = text.clean.index("Ленина")
    span = text.span(start, start + len("Ленина"))
    assert span.text == "Ленина"
    assert original[span.start:span.end] == "Ленина"
    assert_spans_map_back(text)


def test_vk_markup_is_reduced_to_the_name():
    original = "[id123|Иван Петров], [club45|Администрация Омска] когда уберут снег?"
    text = normalize(original)
    assert text.clean == "Иван Петров, Администрация Омска когда уберут снег?"
    i = text.clean.index("Администрация")
    assert text.span(i, i + len("Администрация Омска")).text == "Администрация Омска"


def test_yo_case_and_whitespace():
    text = normalize("  ЁЛКИ\u00a0 палки\n\n\tВСЁ  ")
    assert text.clean == "ЁЛКИ палки ВСЁ"
    assert text.lower == "елки палки все"
    assert len(text.lower) == len(text.clean)


def test_nfkc_and_zero_width_and_combining_marks():
    original = "ﬁ\u200bх\u0306 Й"  # ligature, zero-width space, х + combining breve, Й
    text = normalize(original)
    assert "\u200b" not in text.clean
    assert text.clean.startswith("fi")
    span = text.span(0, 2)
    assert span.text == "ﬁ"


def test_numeric_entity_and_unknown_entity():
    text = normalize("Цена &#8381; и &unknown; текст &amp; ещё")
    assert "₽" in text.clean
    assert "&unknown;" in text.clean
    assert "& ещё" in text.clean


def test_empty_and_markup_only_texts():
    for original in ["", "   ", "<p></p>", "<br/><br/>", "&nbsp;"]:
        text = normalize(original)
        assert text.clean == ""
        assert text.tokens == []
        assert text.span(0, 0).text == ""


def test_tokens_have_lemmas():
    text = normalize("Во дворах на улицах лежат сугробы")
    lemmas = [t.lemma for t in text.tokens]
    assert "двор" in lemmas and "улица" in lemmas and "сугроб" in lemmas


@pytest.mark.parametrize("word,lemma", [("улице", "улица"), ("ёлки", "елка"), ("123", "123"), ("abc", "abc")])
def test_lemmatize(word, lemma):
    assert lemmatize(lower_yo(word)) == lemma


def test_lower_keeps_length_for_odd_characters():
    s = "İSTANBUL ẞ Ǆ"
    assert len(lower_yo(s)) == len(s)


@pytest.mark.parametrize("word", ["\U00017000слово", "ab\U00017000дом", "сл\U00017000во"])
def test_letters_without_a_unicode_name_do_not_break_lemmas(word):
    # Tangut letters have no unicodedata name; pymorphy's Latin check asked for one when the word
    # starts with such a letter (or with Latin letters before it)
    from model.text import analyze_lemma, morph

    assert analyze_lemma(word)
    assert morph().parse(word)
