"""Russian addresses in free text: street and settlement type words, house numbers, name normal forms.

Pure functions over lower-cased text (`Text.lower`: ё → е, same length as `clean`), so offsets found
here map straight back to the original post with `Text.span`. No gazetteer here: `model.gazetteer`
knows names, `model.location` decides what a post says.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .text import WORD_CACHE_SIZE, lower_yo, morph

# A word of the lower-cased text: letters/digits, inner hyphens kept («кызыл-уруп», «5-й», «р-н»).
# Letters and digits written together are split («шаврова25» → «шаврова», «25»; «д12к1»).
WORD = re.compile(r"[0-9]+(?:-[0-9a-zа-я]+)*|[a-zа-я]+(?:-[0-9a-zа-я]+)*")


@dataclass(frozen=True)
class TypeWord:
    canonical: str  # «улица», «станица», ...
    gender: str  # pymorphy gender of the canonical word: masc / femn / neut
    needs_dot: bool = False  # one-letter abbreviations count only as «п.», «ш.», ...


def _forms(canonical: str, gender: str, written: str, dotted: str = "") -> dict[str, TypeWord]:
    out = {w: TypeWord(canonical, gender) for w in written.split()}
    out.update({w: TypeWord(canonical, gender, needs_dot=True) for w in dotted.split()})
    return out


STREET_TYPES: dict[str, TypeWord] = {
    **_forms("улица", "femn", "ул улица улице улицу улицы улицей"),
    **_forms("проспект", "masc", "пр-т пр-кт пр-к пркт просп проспект проспекта проспекте проспекту проспектом", "пр"),
    **_forms("переулок", "masc", "пер переулок переулка переулке переулку переулком пер-к"),
    **_forms("бульвар", "masc", "б-р бул бульвар бульвара бульваре бульвару бульваром"),
    **_forms("шоссе", "neut", "шоссе", "ш"),
    **_forms("микрорайон", "masc", "мкр мкрн мкр-н мкр-на мкр-не микрорайон микрорайона микрорайоне микрорайону микрорайоном"),
    **_forms("площадь", "femn", "площадь площади площадью", "пл"),
    **_forms("набережная", "femn", "наб набережная набережной набережную"),
    **_forms("проезд", "masc", "пр-д проезд проезда проезде проезду проездом"),
    **_forms("тупик", "masc", "туп тупик тупика тупике"),
    **_forms("аллея", "femn", "аллея аллее аллеи аллею"),
    **_forms("линия", "femn", "линия линии линию"),
    **_forms("тракт", "masc", "тракт тракта тракте тракту трактом"),
    **_forms("квартал", "masc", "кв-л квартал квартала квартале"),
}

# Settlement type words: «г.», «ст.», «с.», «п.», «х.», «д.» count only with a dot and a capital
# letter next (else «с» is a preposition and «д.» a house).
SETTLEMENT_TYPES: dict[str, TypeWord] = {
    **_forms("город", "masc", "город городе города городу гор", "г"),
    **_forms("станица", "femn", "станица станице станицы станицу ст-ца ст-це стц", "ст"),
    **_forms("село", "neut", "село селе села селу", "с"),
    **_forms("посёлок", "masc", "пос поселок поселке поселка поселку пгт рп", "п"),
    **_forms("хутор", "masc", "хут хутор хуторе хутора хутору", "х"),
    **_forms("аул", "masc", "аул ауле аула аулу"),
    **_forms("деревня", "femn", "дер деревня деревне деревни деревню", "д"),
    **_forms("слобода", "femn", "слобода слободе слободы", "сл"),
}

# «Кировский район», «Индустриальном р-не», «Кировского административного округа»
DISTRICT_CUES = frozenset(
    "район района районе району районом р-н р-на р-не р-ну округ округа округе округу округом ао окр".split()
)
DISTRICT_FILLERS = frozenset("административный административного административном административному".split())

# A number right after a street name is not a house when one of these follows («на Ленина 15 минут»).
NOT_HOUSE_NEXT = frozenset(
    """лет года год минут мин минуты час часа часов раз раза дней дня день сутки суток этаж этаже этажа этажей
    подъезд подъезде подъезда подъезды парадная парадной парадную парадных руб рублей рубля тыс тысяч м метров метра
    км см градусов градуса человек чел штук шт мес месяцев месяца недель недели января февраля марта апреля мая
    июня июля августа сентября октября ноября декабря числа числу маршрут маршрута автобус автобуса трамвай
    троллейбус процентов %""".split()
)

_HOUSE = re.compile(
    r"""[ ,.]*(?:(?:д|дом|доме|дома|домом)(?:\.|\b|(?=\d))[ ]*(?:(?:№|no|n)[ ]*)?|№[ ]*)?
    (?P<num>\d{1,4})(?![\d.,:]\d)(?!-[а-я])(?P<lit>[а-я](?![а-я0-9]))?
    (?:[ ]*(?P<sep>[/-])[ ]*(?P<frac>\d{1,4}[а-я]?(?![а-я0-9])))?
    (?:[ ,]*(?:корп|корпус|кор|к)(?:\.|\b|(?=\d))[ ]*(?P<korp>\d{1,3})(?!\d))?
    (?:[ ,]*(?:стр\.?|строение|с\.)[ ]*(?P<str>\d{1,3})(?!\d))?
    (?:[ ,]*(?:лит|литера|литер|лит\.)\.?[ ]*(?P<liter>[а-я])(?![а-я]))?""",
    re.X,
)
# «№» becomes «No» under NFKC (model.text.normalize), so «no»/«n» before a digit is a number sign too
_HOUSE_CUE = re.compile(r"[ ,.]*(?:д|дом|доме|дома|домом)(?:\.|\b|(?=\d))[ ]*(?:(?:№|no|n)[ ]*)?\d|[ ,.]*№[ ]*\d")
_NEXT_WORD = re.compile(r" *([а-яa-z%]+)")  # the word right after a number (a comma ends the house)


@dataclass(frozen=True)
class House:
    text: str  # canonical: «15», «15а», «3/2», «4 корп. 2 стр. 1 лит. А»
    start: int
    end: int
    cued: bool  # written with «д.», «дом» or «№»


_QUALIFIER = re.compile(r"[ ,]*(?:п\.? ?с|в\.? ?о|васильевского острова|петроградской стороны)\b\.?")  # «Большой пр. П.С. 28», «Средний В.О., 61»


def parse_house(lower: str, pos: int) -> House | None:
    """A house number starting at `pos` (after optional spaces/commas and «д.»/«дом»), else None."""
    q = _QUALIFIER.match(lower, pos)
    if q:
        pos = q.end()
    m = _HOUSE.match(lower, pos)
    if not m or not m.group("num"):
        return None
    cued = bool(_HOUSE_CUE.match(lower, pos))
    if not cued:
        # a bare number is a house only when no unit word follows («15 минут», «5 этаже»)
        after = max(m.end(g) for g in ("num", "lit", "frac") if m.group(g))
        nxt = _NEXT_WORD.match(lower, after)
        if nxt and nxt.group(1) in NOT_HOUSE_NEXT:
            return None
        if m.group("num").startswith("0"):
            return None
    text = m.group("num") + (m.group("lit") or "")
    if m.group("frac"):
        text += m.group("sep") + m.group("frac")
    if m.group("korp"):
        text += " корп. " + m.group("korp")
    if m.group("str"):
        text += " стр. " + m.group("str")
    if m.group("liter"):
        text += " лит. " + m.group("liter").upper()
    start = m.start("num")
    if cued:
        start = pos + (len(lower[pos:m.end()]) - len(lower[pos:m.end()].lstrip(" ,.")))
    return House(text, start, m.end(), cued)


# ---------------------------------------------------------------- name forms


# pymorphy parses are big objects: keep few of them; the yes/no answers below are cached widely
@lru_cache(maxsize=WORD_CACHE_SIZE // 2)
def _parses(word: str):
    return morph().parse(word)


@lru_cache(maxsize=2 * WORD_CACHE_SIZE)
def is_adjective(word: str) -> bool:
    """The word reads as an adjective (or participle) in its most likely parse."""
    if not re.fullmatch(r"[а-яё-]+", word):
        return False
    parses = _parses(word)
    p = parses[0]
    if p.tag.POS in ("ADJF", "PRTF") and "Surn" not in p.tag and "Poss" not in p.tag:
        return True
    # rare or unknown place adjectives («Эйхенская», «Невская» read as a surname first)
    return word.endswith(_ADJ_ENDINGS) and any(q.tag.POS in ("ADJF", "PRTF") for q in parses[:4])


_ADJ_ENDINGS = ("ская", "цкая", "ской", "цкой", "скую", "ский", "цкий", "ское", "ская", "ная", "ной", "ную", "ный", "ное", "вая", "вой", "вую", "вый")


@lru_cache(maxsize=2 * WORD_CACHE_SIZE)
def is_name_like(word: str) -> bool:
    """A lower-case word that may be a proper name (surname, name, place), for lower-case posts."""
    if not re.fullmatch(r"[а-яё-]+", word):
        return False
    for p in _parses(word)[:3]:
        if {"Surn", "Name", "Geox", "Patr"} & set(str(p.tag).replace(" ", ",").split(",")):
            return True
    return False


ORDINAL = re.compile(r"^(\d+)-?(?:я|й|е|ая|ый|ой|ий|ья|ое|ей|го|ого|ему|ом|ую|ю|м|х|ых|ой)$")
@lru_cache(maxsize=WORD_CACHE_SIZE)
def is_verb(word: str) -> bool:
    """The word reads as a verb or an adverb first («Требуется»): it starts a sentence, names nothing."""
    return _parses(word)[0].tag.POS in ("VERB", "INFN", "PRTS", "ADVB", "PRED", "GRND")


_ORDINAL_SUFFIX = {"femn": "я", "masc": "й", "neut": "е"}
_LOWER_WORDS = frozenset("лет года и имени им де ла фон ван дер на".split())


def ordinal_for(word: str, gender: str) -> str:
    """«7-ю», «8», «2-ой» → «7-я», «8-я», «2-й» for a type word of `gender` (numbers as names)."""
    m = ORDINAL.match(word) or re.fullmatch(r"(\d+)", word)
    return f"{m.group(1)}-{_ORDINAL_SUFFIX[gender]}" if m else word


def inflect_adjective(word: str, gender: str, number: str = "sing") -> str:
    """«садовой» → «садовая» (gender of the type word); unchanged when pymorphy can't."""
    for p in _parses(word):
        if p.tag.POS in ("ADJF", "PRTF"):
            grams = {"nomn", number} if number == "plur" else {"nomn", gender, "sing"}
            f = p.inflect(grams)
            if f is not None:
                return f.word
    return word


def cap(word: str) -> str:
    """Capitalize each hyphen part («кызыл-уруп» → «Кызыл-Уруп»), keep acronyms and numbers."""
    if word.isupper() and len(word) > 1:
        return word
    return "-".join(part[:1].upper() + part[1:] if part and not part[0].isdigit() else part for part in word.split("-"))


def street_canonical(type_word: TypeWord | None, words: list[str], name_first: bool) -> str:
    """Canonical street: «Садовая улица», «улица Ленина», «улица 10 лет Октября», «3-я Енисейская улица».

    `words` are the name words as written (case kept); `name_first` says the name stood before the
    type word («Невском проспекте»); without a type word the street is an «улица».
    """
    tw = type_word or STREET_TYPES["улица"]
    # «на улице Набережной»: the substantivized adjective pymorphy reads as a noun
    words = ["набережная" if lower_yo(w).startswith("набережн") else w for w in words]
    low = [lower_yo(w) for w in words]
    core = [w for w in low if not ORDINAL.match(w)]
    adjectival = bool(core) and all(is_adjective(w) for w in core)
    if adjectival and (not name_first or tw.gender != "masc") and any(w.endswith(("ого", "его")) for w in core):
        adjectival = False  # «улица Достоевского»: a surname in the genitive, not an adjective
    if core and all(w == "набережная" for w in core):
        return "Набережная " + tw.canonical if tw.canonical != "набережная" else "Набережная"
    if not core and low:  # «9-я линия»: only an ordinal
        m = ORDINAL.match(low[0])
        return f"{m.group(1)}-{_ORDINAL_SUFFIX[tw.gender]} {tw.canonical}"
    if adjectival:
        out = []
        for w, lw in zip(words, low):
            m = ORDINAL.match(lw)
            if m:
                out.append(f"{m.group(1)}-{_ORDINAL_SUFFIX[tw.gender]}")
            else:
                out.append(cap(inflect_adjective(lw, tw.gender)))
        return " ".join(out + [tw.canonical])
    out = []
    for w, lw in zip(words, low):
        if lw in _LOWER_WORDS or lw[:1].isdigit():
            out.append(lw)
        else:
            out.append(cap(w) if w.islower() else w)
    return " ".join([tw.canonical] + out)


def settlement_canonical(type_word: TypeWord | None, words: list[str]) -> str:
    """«станице кардоникской» → «станица Кардоникская», «г. Кирове» → «Киров»."""
    low = [lower_yo(w) for w in words]
    out = []
    nouns = [w for w in low if not is_adjective(w)]
    head = nouns[-1] if nouns else None
    head_parse = None
    if head is not None:
        for p in _parses(head):
            if p.tag.POS == "NOUN":
                head_parse = p
                break
    gender = head_parse.tag.gender if head_parse is not None and head_parse.tag.gender else (type_word.gender if type_word else "masc")
    number = head_parse.tag.number if head_parse is not None and head_parse.tag.number else "sing"
    for w, lw in zip(words, low):
        if "-" in lw:
            out.append(cap(w))
        elif is_adjective(lw):
            out.append(cap(inflect_adjective(lw, gender or "masc", number or "sing")))
        else:
            form = lw
            already_nomn = any(p.tag.POS == "NOUN" and "nomn" in p.tag for p in _parses(lw))
            for p in [] if already_nomn else _parses(lw):  # «Банищи», «Ивановка» stay as written
                if p.tag.POS == "NOUN":
                    f = p.inflect({"nomn"} if p.tag.number == "plur" else {"nomn", "sing"})
                    if f is not None:
                        form = f.word
                    break
            out.append(cap(form))
    name = " ".join(out)
    if type_word is None or type_word.canonical == "город":
        return name
    return f"{type_word.canonical} {name}"
