"""Location component: where a post's problem is (municipality, district, settlement, street, house).

Order of evidence, most trusted first: the post's `address` field (portals, forms), its `geo`
point (mapped to a district/municipality by the trained `model.geo.GeoIndex`), then the text.
In the text, cheap rules run first and cover the common case:

1. streets with a type word («ул. Ленина 15», «на Невском проспекте», «Дыбенко ул., д. 4 корп. 2»);
2. settlements with a type word («ст. Сторожевая», «в селе Ивановка», «г. Крымск»);
3. districts named with «район/округ/р-н» («Индустриальный р-н», «в Кировском округе»);
4. the region's gazetteer: municipalities and settlements by their case forms («в Кирове»);
5. the region's streets without a type word, only next to «на/по/у…» or a house number
   («на Ленина 15», «у 5-й школы на Мира») — a surname that is also a street counts only so;
6. an unknown name followed by a house number after «на/по/у…» or a town («на Пилотов, 34»);
7. a house written apart from its street («на Гагарина у дома 8», «В доме 15 на Степанца»).

Each field comes from the first layer that has it (address, geo, text); `source` names the first
layer that contributed; `mentions` are the text's own mentions in ORIGINAL coordinates.
natasha's NER is optional (`use_ner`, off by default: it lowered precision on the holdout set),
loaded lazily, and runs only on posts where the rules found nothing and a capitalized word
follows «в/во/из».
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .address import (
    DISTRICT_CUES,
    DISTRICT_FILLERS,
    ORDINAL,
    SETTLEMENT_TYPES,
    STREET_TYPES,
    WORD,
    House,
    TypeWord,
    cap,
    is_adjective,
    is_name_like,
    is_verb,
    ordinal_for,
    parse_house,
    settlement_canonical,
    street_canonical,
)
from .doc import Doc
from .errors import DataError
from .gazetteer import Gazetteer, Place, load_gazetteers
from .records import Location, Span
from .text import Text, normalize

log = logging.getLogger(__name__)
_ASK = object()  # "look the geo point up": LocationTagger.locate without a precomputed answer

# Prepositions that put a following name on a street («на Ленина», «по Садовой», «у дома на Мира»).
STREET_PREPS = frozenset(
    "на по у около возле напротив вдоль угол углу пересечении перекрестке адрес адресу от до дом дома доме домом".split()
)
# Prepositions that put a following name in a settlement («в Кирове», «из Крымска»).
PLACE_PREPS = frozenset("в во из под около возле до от за через".split())
# Words that never start or continue a street name.
STOP = frozenset(
    """и а но или на в во по у с со к ко о об от до за из под над при для без про что как где когда уже
    еще не нет да же ли бы то это этот эта эти тот там тут здесь который которая которые д дом доме дома
    корп корпус кв квартира подъезд парадная этаж возле около напротив рядом между вдоль всё все весь вся
    очень просто опять снова уже давно нужно надо просим прошу был была было были будет есть через перед после
    пс во также только всегда теперь тоже сегодня вчера завтра""".split()
)
# «Правил благоустройства территории Санкт-Петербурга», «Правительства Санкт-Петербурга»: a town
# named as part of an authority or a law says nothing about where the problem is.
INSTITUTION_STEMS = (
    "правил", "закон", "постановлен", "администрац", "правительств", "губернатор", "мэри", "прокуратур",
    "комитет", "департамент", "министерств", "дум", "законодательн", "кодекс", "жилищн", "госжилинспекц",
)
# Street names that are also everyday words of housing posts («Парадная 2» is an entrance).
NOT_STREET_ALONE = frozenset(
    "парадная парадной парадную порадная лестница лестнице лестницы лестничная входная подвальная секция секции".split()
)
# Street type words that are also common nouns: their name must look like a name.
GENERIC_TYPES = frozenset({"линия", "аллея", "площадь", "набережная", "квартал", "тракт", "проезд", "тупик"})
_HOUSE_AFTER = re.compile(
    r"[^.!?\n]{0,25}?\b(?:у|возле|около|напротив|рядом с|перед|во дворе)\s+(?:дома|домом)\s*(?:№|no|n)?\s*(?P<num>\d{1,4}[а-я]?(?:/\d{1,3})?)(?![\d])"
)
_HOUSE_BEFORE = re.compile(
    r"\b(?:дом|доме|дома)\s*(?:№|no|n)?\s*(?P<num>\d{1,4}[а-я]?(?:/\d{1,3})?)(?:\s+(?:на|по))?\s+$"
)


@dataclass(slots=True)
class _Word:
    start: int
    end: int
    low: str
    cap: bool  # starts with a capital in the clean text
    text: str  # as written (clean)


@dataclass
class _Hit:
    kind: str  # street | settlement | district | municipality
    start: int  # clean coordinates
    end: int
    value: str
    place: Place | None = None
    house: House | None = None
    first: int = 0  # word indices covered [first, last)
    last: int = 0


@dataclass
class _Scan:
    """One text being read: its words, which of them a hit already took, the hits so far."""

    text: Text
    lower: str
    words: list[_Word]
    cap_mode: bool  # the post uses capitals at all (else capitals prove nothing)
    gaz: Gazetteer | None
    lenient: bool
    covered: list[bool] = field(default_factory=list)
    hits: list[_Hit] = field(default_factory=list)

    @classmethod
    def of(cls, text: Text, gaz: Gazetteer | None, lenient: bool) -> "_Scan":
        lower, clean = text.lower, text.clean
        words = [
            _Word(m.start(), m.end(), m.group(), clean[m.start()].isupper(), clean[m.start() : m.end()])
            for m in WORD.finditer(lower)
        ]
        return cls(text, lower, words, any(c.isupper() for c in clean), gaz, lenient, [False] * len(words))

    def gap(self, i: int) -> str:
        """What lies between words[i-1] and words[i]."""
        return self.lower[self.words[i - 1].end : self.words[i].start] if i > 0 else self.lower[: self.words[0].start]

    def prev_low(self, i: int) -> str | None:
        """The word right before words[i] when only spaces separate them."""
        return self.words[i - 1].low if i > 0 and self.gap(i).strip(" ") == "" else None

    def claim(self, hit: _Hit) -> None:
        for k in range(hit.first, hit.last):
            self.covered[k] = True
        self.hits.append(hit)

    def is_type(self, i: int, table: dict[str, TypeWord]) -> TypeWord | None:
        """The street or settlement type word at words[i], if it is one here."""
        words = self.words
        tw = table.get(words[i].low)
        if tw is None:
            return None
        has_dot = self.lower[words[i].end : words[i].end + 1] == "."
        if tw.needs_dot and not has_dot:
            # «кондратьевский пр 68»: «пр» without its dot, after an adjective and before a number
            if not (
                table is STREET_TYPES
                and words[i].low == "пр"
                and 0 < i < len(words) - 1
                and words[i + 1].low[0].isdigit()
                and words[i - 1].low.endswith(("ский", "цкий", "ный", "ой", "ий"))
            ):
                return None
        if tw.needs_dot and len(words[i].low) <= 2 and table is SETTLEMENT_TYPES:
            # «с.», «п.», «д.», «г.», «х.», «ст.» need a capitalized name right after
            if i + 1 >= len(words) or not (words[i + 1].cap or not self.cap_mode) or words[i + 1].low[0].isdigit():
                return None
        return tw


@dataclass
class _Found:
    municipality: str | None = None
    district: str | None = None
    settlement: str | None = None
    street: str | None = None
    house: str | None = None
    mentions: list[Span] = field(default_factory=list)

    def empty(self) -> bool:
        return not any((self.municipality, self.district, self.settlement, self.street, self.house))


class LocationTagger:
    """Sets `doc.location` (a `model.records.Location`, or None when nothing is said)."""

    name = "location"

    def __init__(self, gazetteers: dict[str, Gazetteer], geo_index: Any | None = None, use_ner: bool = False):
        self.gazetteers = gazetteers
        self.geo_index = geo_index
        self.use_ner = use_ner
        self._ner = None  # (segmenter, tagger, morph_vocab), built on first use

    @classmethod
    def from_data(cls, data_dir: Path | str, geo_index: Any | None = None, use_ner: bool = False) -> "LocationTagger":
        """Gazetteers from `data_dir`/gazetteers (or `data_dir` itself); SPb streets from `geo_index`."""
        data_dir = Path(data_dir)
        gaz_dir = data_dir / "gazetteers" if (data_dir / "gazetteers").is_dir() else data_dir
        gazetteers = load_gazetteers(gaz_dir)
        if geo_index is not None:
            for profile, streets in getattr(geo_index, "streets_", {}).items():
                if profile not in gazetteers:
                    raise DataError(f"geo index has streets for {profile!r}, expected a gazetteer file {profile}.yaml")
                gazetteers[profile].add_streets(streets)
        return cls(gazetteers, geo_index, use_ner)

    # ------------------------------------------------------------ component protocol

    def predict(self, docs: list[Doc]) -> list[Location | None]:
        # one geo-index query for the whole batch; a per-post query costs more than the text scan
        with_geo = [k for k, doc in enumerate(docs) if doc.post.geo is not None] if self.geo_index is not None else []
        answers = dict(zip(with_geo, self.geo_index.locate_many(
            [(float(docs[k].post.geo.lat), float(docs[k].post.geo.lon)) for k in with_geo]))) if with_geo else {}
        return [self.locate(doc.text, doc.region, doc.post.address, doc.post.geo, geo_answer=answers.get(k, _ASK))
                for k, doc in enumerate(docs)]

    def set_annotations(self, docs: list[Doc], preds: list[Location | None]) -> None:
        for doc, loc in zip(docs, preds):
            doc.location = loc

    def __call__(self, docs: list[Doc]) -> None:
        self.set_annotations(docs, self.predict(docs))

    # ------------------------------------------------------------ one post

    def locate(self, text: Text, region: str | None, address: str | None = None, geo: Any | None = None,
               geo_answer: Any = _ASK) -> Location | None:
        """geo_answer: the geo index's answer for `geo` when already looked up (None: nothing there)."""
        from_text = self.extract(text, region)
        layers: list[tuple[str, _Found]] = []
        if address and address.strip():
            layers.append(("address", self.extract(normalize(address), region, lenient=True)))
        if geo is not None and self.geo_index is not None:
            g = self.geo_index.locate(float(geo.lat), float(geo.lon), region) if geo_answer is _ASK else geo_answer
            if g:
                layers.append(("geo", _Found(g.get("municipality"), g.get("district"), g.get("settlement"))))
        layers.append(("text", from_text))
        out = _Found(mentions=from_text.mentions)
        source = None
        for name, found in layers:
            contributed = False
            for attr in ("municipality", "district", "settlement", "street", "house"):
                if getattr(out, attr) is None and getattr(found, attr) is not None:
                    if attr == "house" and out.street is not None and found.street is None:
                        continue  # a house number belongs to the street it was written with
                    setattr(out, attr, getattr(found, attr))
                    contributed = True
            if contributed and source is None:
                source = name
        # «Санкт-Петербург» (a profile's default town) is the weakest answer: the geo point's
        # municipal unit («муниципальный округ №65», «город Колпино») is more precise
        gaz = self.gazetteers.get(region) if region else None
        if gaz is not None and out.municipality == gaz.default_municipality:
            finer = next((f.municipality for _, f in layers if f.municipality not in (None, gaz.default_municipality)), None)
            if finer is not None:
                out.municipality = finer
        if out.empty():
            return None
        return Location(out.municipality, out.district, out.settlement, out.street, out.house, out.mentions, source)

    def extract(self, text: Text, region: str | None, lenient: bool = False) -> _Found:
        """What the text itself says. `lenient` reads a bare address line («Ленина 15, кв. 3»)."""
        gaz = self.gazetteers.get(region) if region else None
        s = _Scan.of(text, gaz, lenient)
        if not s.words:
            return _Found()
        self._typed_streets(s)
        self._typed_settlements(s)
        if gaz is not None:
            self._districts(s)
            self._gazetteer_places(s)
            self._gazetteer_streets(s)
        self._untyped_streets(s)
        self._detached_houses(s)
        if self.use_ner and not s.hits:
            self._ner_settlements(s)
        return self._assemble(text, s.hits, gaz)

    # ------------------------------------------------------------ passes

    def _street_name_after(self, s: "_Scan", i: int) -> tuple[int, list[Place]]:
        """How many words after the type word at i form the street's name (0: none)."""
        words, gap, gaz, cap_mode = s.words, s.gap, s.gaz, s.cap_mode
        cand = []
        for j in range(i + 1, min(i + 5, len(words))):
            g = gap(j)
            if j == i + 1:
                abbreviated = len(words[i].low) <= 4 or "-" in words[i].low
                if g.strip(" .") != "" or ("." in g and not abbreviated):
                    break
            w = words[j]
            initial = w.cap and len(w.low) <= 2 and j + 1 < len(words) and gap(j + 1).strip(" ") == "."
            if initial and (w.low, words[j + 1].low) in (("п", "с"), ("в", "о")):
                break  # «П.С.», «В.О.»: the island, not an initial
            if initial and not cand or (initial and cand and cand[-1].low.isalpha()):
                cand.append(w)  # an initial: «К. Маркса», «Вч.Клыкова»
                continue
            if j > i + 1 and cand and cand[-1].cap and len(cand[-1].low) <= 2 and g.strip(" ") == ".":
                pass  # the word after an initial
            elif j > i + 1 and g.strip(" ") != "":
                break
            if w.low in STOP or w.low in DISTRICT_CUES or (len(w.low) == 1 and not w.low.isdigit()):
                break
            if w.low in ("васильевского", "васильевском", "петроградской"):
                break  # «24-я линия Васильевского острова»: the island, like «В.О.»
            if not cand and "." in g and w.cap and is_verb(w.low):
                break  # «пр. Требуется»: the abbreviation's dot ended a sentence
            if not re.match(r"[а-я0-9]", w.low):
                break  # «пр. No 89»: Latin words are no street names
            if w.low in STREET_TYPES and not (cand == [] and w.low.startswith("набережн")):
                break  # «на улице Набережной» names a street after a type word
            if any(c.isdigit() for c in w.low):
                # «10 лет Октября», «3-я Енисейская», «50 лет ВЛКСМ»; a plain number is a house
                nxt = words[j + 1].low if j + 1 < len(words) else ""
                if not (cand == [] and (ORDINAL.match(w.low) or w.low.isdigit() and nxt == "лет")):
                    if not (cand and cand[-1].low[0].isdigit() and w.low == "лет"):
                        break
            cand.append(w)
        if not cand:
            return 0, []
        gender = STREET_TYPES[words[i].low].gender
        if gaz is not None:
            n, places = gaz.longest(gaz.streets, [ordinal_for(w.low, gender) for w in cand], 0)
            if n:
                return n, places
            if len(cand) > 1 and len(cand[0].low) <= 2 and cand[0].cap:  # «Вч.Клыкова» → «Клыкова»
                n, places = gaz.longest(gaz.streets, [w.low for w in cand[1:]], 0)
                if n:
                    return n + 1, places
        if cand[0].cap and len(cand[0].low) <= 2 and len(cand) == 1:
            return 0, []
        lows = [w.low for w in cand]
        if not cap_mode and not (lows[0][0].isdigit() or is_name_like(lows[0]) or is_adjective(lows[0])):
            return 0, []  # «с улицы через дверь»
        if lows[0][0].isdigit():
            if len(lows) >= 3 and lows[1] == "лет":
                return 3, []
            return min(2, len(lows)), []
        if cap_mode:
            if not cand[0].cap:
                return 0, []
            n = 0
            for w in cand:
                if w.cap or (n > 0 and w.low == "лет") or (n == 0):
                    n += 1
                else:
                    break
                if n == 3:
                    break
            return n, []
        n = 1
        if len(lows) > 1 and (is_adjective(lows[0]) and is_adjective(lows[1]) or is_name_like(lows[1]) and not is_adjective(lows[1])):
            n = 2
        return n, []

    def _typed_streets(self, s: "_Scan") -> None:
        words, covered, gap, claim, is_type = s.words, s.covered, s.gap, s.claim, s.is_type
        gaz, lower, cap_mode = s.gaz, s.lower, s.cap_mode
        for i, w in enumerate(words):
            if covered[i]:
                continue
            tw = is_type(i, STREET_TYPES)
            if tw is None:
                continue
            n, places = self._street_name_after(s, i)
            if n and not places and i > 0 and not covered[i - 1] and gap(i).strip(" ") == "":
                # «по Кондратьевскому пр. Мусор лежит»: an adjective right before the type word is the name
                before, after = words[i - 1], words[i + 1]
                after_is_name = (
                    is_adjective(after.low)
                    or is_name_like(after.low)
                    or after.low[0].isdigit()
                    or (i + 2 < len(words) and words[i + 2].low[0].isdigit())  # «ул. Мира 20»
                    or (gaz is not None and gaz.longest(gaz.streets, [after.low], 0)[0] > 0)
                )
                if not after_is_name and (before.cap or not cap_mode) and before.low not in STOP and is_adjective(before.low):
                    n = 0
            name_first = False
            if n:
                name_words = words[i + 1 : i + 1 + n]
                end_idx = i + 1 + n
                first = i
                if n > 1 and name_words[0].low.startswith("набережн") and not places:
                    tw, name_words = STREET_TYPES["набережная"], name_words[1:]  # «ул. Набережная реки Фонтанки»
            else:
                # «Невском проспекте», «Малая Бухарестская улица», «Дыбенко ул.»
                back = []
                for j in range(i - 1, max(i - 3, -1), -1):
                    if covered[j] or gap(j + 1).strip(" ") != "" or words[j].low in STOP:
                        break
                    lw = words[j].low
                    if not (words[j].cap or lw[0].isdigit() or (not cap_mode and is_adjective(lw))):
                        break
                    back.insert(0, words[j])
                    if not (is_adjective(lw) or lw[0].isdigit()):
                        break  # a noun name («Дыбенко») takes no more words before it
                if not back:
                    continue
                sentence_start = back[0] is words[0] or any(c in gap(words.index(back[0])) for c in ".!?\n")
                if sentence_start and tw.canonical in GENERIC_TYPES:
                    # «Внутриквартальный проезд не убирается»: a capital at a sentence start is no name
                    if gaz is None or not gaz.longest(gaz.streets, [ordinal_for(x.low, tw.gender) for x in back], 0)[0]:
                        continue
                if gaz is not None:
                    k, places = 0, []
                    for cut in range(len(back)):
                        k, places = gaz.longest(gaz.streets, [ordinal_for(x.low, tw.gender) for x in back[cut:]], 0)
                        if k == len(back) - cut:
                            back = back[cut:]
                            break
                        k, places = 0, []
                name_words, name_first, end_idx, first = back, True, i + 1, i - len(back)
            if tw.canonical in GENERIC_TYPES and not places:
                lw0 = name_words[0]
                if not (lw0.cap or lw0.low[0].isdigit()):
                    continue
            place = _pick_street(places, tw.canonical)
            value = place.name if place else street_canonical(tw, [x.text for x in name_words], name_first)
            end = words[end_idx - 1].end
            house = parse_house(lower, end)
            last = end_idx
            if house is not None:
                end = house.end
                while last < len(words) and words[last].start < house.end:
                    last += 1
            claim(_Hit("street", words[first].start, end, value, place, house, first, last))

    def _typed_settlements(self, s: "_Scan") -> None:
        words, covered, gap, claim, is_type, gaz, cap_mode = (
            s.words, s.covered, s.gap, s.claim, s.is_type, s.gaz, s.cap_mode
        )
        for i, w in enumerate(words):
            if covered[i] or i + 1 >= len(words) or covered[i + 1]:
                continue
            tw = is_type(i, SETTLEMENT_TYPES)
            if tw is None or gap(i + 1).strip(" .") != "":
                continue
            nxt = words[i + 1]
            if nxt.low in STOP or nxt.low[0].isdigit():
                continue
            if gaz is not None:
                n, places = gaz.longest(gaz.names, [x.low for x in words], i + 1)
                places = [p for p in places if p.kind in ("settlement", "municipality")]
                if n and places:
                    p = places[0]
                    claim(_Hit(p.kind, w.start, words[i + n].end, p.name, p, None, i, i + 1 + n))
                    continue
            if cap_mode and not nxt.cap:
                continue
            if not cap_mode and not (is_name_like(nxt.low) or len(w.low) > 3 and not is_adjective(nxt.low)):
                continue
            if not cap_mode and w.low in ("город", "городе", "города", "городу"):
                continue  # «в городе грязно»: in a lower-case post «город» is too common
            n = 1
            if i + 2 < len(words) and gap(i + 2).strip(" ") == "" and not covered[i + 2] and words[i + 2].low not in STOP:
                a, b = words[i + 1], words[i + 2]
                before_cue = i + 3 < len(words) and words[i + 3].low in DISTRICT_CUES
                if (b.cap or not cap_mode) and is_adjective(a.low) and not b.low[0].isdigit() and not before_cue:
                    n = 2
            name_words = words[i + 1 : i + 1 + n]
            value = settlement_canonical(tw, [x.text for x in name_words])
            claim(_Hit("settlement", w.start, name_words[-1].end, value, None, None, i, i + 1 + n))

    def _districts(self, s: "_Scan") -> None:
        words, covered, claim, gaz = s.words, s.covered, s.claim, s.gaz
        lows = [w.low for w in words]
        for i in range(len(words)):
            if covered[i]:
                continue
            n, places = gaz.longest(gaz.stems, lows, i)
            if n:
                j = i + n
                if j < len(words) and lows[j] in DISTRICT_FILLERS:
                    j += 1
                if j < len(words) and lows[j] in DISTRICT_CUES:
                    p = places[0]
                    claim(_Hit(p.kind, words[i].start, words[j].end, p.name, p, None, i, j + 1))
                    continue
            # «КАО», «ЦАО»: district aliases in the names table
            n, places = gaz.longest(gaz.names, lows, i)
            places = [p for p in places if p.kind == "district"]
            if n and places and (words[i].text.isupper() or n > 1):
                p = places[0]
                claim(_Hit("district", words[i].start, words[i + n - 1].end, p.name, p, None, i, i + n))

    def _gazetteer_places(self, s: "_Scan") -> None:
        words, covered, prev_low, claim, is_type = s.words, s.covered, s.prev_low, s.claim, s.is_type
        gaz, cap_mode, lower = s.gaz, s.cap_mode, s.lower
        lows = [w.low for w in words]
        i = 0
        while i < len(words):
            if covered[i]:
                i += 1
                continue
            n, places = gaz.longest(gaz.names, lows, i)
            places = [p for p in places if p.kind in ("settlement", "municipality")]
            if not n or not places or any(covered[i : i + n]):
                i += 1
                continue
            prev = prev_low(i)
            # «Кирова улица», «Кировский район»: the name belongs to what follows it
            nxt_type = (
                i + n < len(words)
                and not covered[i + n]
                and lower[words[i + n - 1].end : words[i + n].start].strip(" ") == ""
                and (is_type(i + n, STREET_TYPES) is not None or lows[i + n] in DISTRICT_CUES)
            )
            ok = not nxt_type and prev not in ("на", "по") and (prev is None or is_type(i - 1, STREET_TYPES) is None)
            p = places[0]
            if ok and cap_mode and p.ambiguous and not (words[i].cap or words[i].text.isupper()):
                ok = False
            if ok and any(lows[k].startswith(INSTITUTION_STEMS) for k in range(max(0, i - 3), i)):
                ok = False  # the name of an authority or a law, not where the problem is
            if ok and p.ambiguous:
                ok = prev in PLACE_PREPS and (words[i].cap or not cap_mode) and cap_mode
            if ok:
                claim(_Hit(p.kind, words[i].start, words[i + n - 1].end, p.name, p, None, i, i + n))
                i += n
            else:
                i += 1

    def _gazetteer_streets(self, s: "_Scan") -> None:
        words, covered, gap, prev_low, claim, is_type, gaz, lower, cap_mode, lenient = (
            s.words, s.covered, s.gap, s.prev_low, s.claim, s.is_type, s.gaz, s.lower, s.cap_mode, s.lenient
        )
        lows = [w.low for w in words]
        bare = [ORDINAL.match(w).group(1) if ORDINAL.match(w) else w for w in lows]  # «6-й Советской»
        i = 0
        while i < len(words):
            if covered[i]:
                i += 1
                continue
            n, places = gaz.longest(gaz.streets, lows, i)
            if bare[i] != lows[i]:
                n2, places2 = gaz.longest(gaz.streets, bare, i)
                if n2 > n:
                    n, places = n2, places2
            if n and all(ORDINAL.match(w) or w.isdigit() for w in lows[i : i + n]):
                n = 0  # «6-й» alone names a street only with its type word («6-й проезд»)
            if not n or any(covered[i : i + n]):
                i += 1
                continue
            end = words[i + n - 1].end
            house = parse_house(lower, end)
            prev = prev_low(i)
            ok = prev in STREET_PREPS or house is not None or (lenient and (i == 0 or gap(i).strip(" ") in (",", "")))
            first = words[i]
            if ok and house is None and places[0].name_first and not lenient:
                # «на почтовом ящике», «у парадной двери»: an adjective before its noun is no street
                nxt = words[i + n] if i + n < len(words) else None
                if not cap_mode or (nxt is not None and gap(i + n).strip(" ") == "" and nxt.low not in STOP):
                    ok = False
            if ok and lows[i] in NOT_STREET_ALONE:
                ok = False
            if ok and cap_mode and not (first.cap or first.low[0].isdigit()):
                ok = False
            if ok and i + n < len(words) and is_type(i + n, SETTLEMENT_TYPES) is not None:
                ok = False
            if not ok:
                i += 1
                continue
            place = places[0]
            last = i + n
            if house is not None:
                end = house.end
                while last < len(words) and words[last].start < house.end:
                    last += 1
            claim(_Hit("street", first.start, end, place.name, place, house, i, last))
            i = last

    def _untyped_streets(self, s: "_Scan") -> None:
        words, covered, gap, prev_low, claim, lower, cap_mode, lenient, hits = (
            s.words, s.covered, s.gap, s.prev_low, s.claim, s.lower, s.cap_mode, s.lenient, s.hits
        )
        place_ends = {h.last - 1 for h in hits if h.kind in ("settlement", "municipality", "district")}
        i = 0
        while i < len(words):
            if covered[i]:
                i += 1
                continue
            w = words[i]
            name: list[_Word] = []
            # «10 лет октября д.3»: a dated name needs no preposition
            if w.low.isdigit() and i + 2 < len(words) and words[i + 1].low == "лет" and not covered[i + 2]:
                name = words[i : i + 3]
                house = parse_house(lower, name[-1].end)
                if house is None or not house.cued and not (words[i + 2].cap or not cap_mode):
                    i += 1
                    continue
            else:
                # cheap tests first: a name here needs a number right after it (or after one more word)
                if w.low in STOP or not re.match("[а-я]", w.low) or not (
                    (i + 1 < len(words) and words[i + 1].low[0].isdigit())
                    or (i + 2 < len(words) and (words[i + 2].low[0].isdigit() or words[i + 1].low in ("д", "дом")))
                ):
                    i += 1
                    continue
                prev = prev_low(i)
                at_start = lenient and (i == 0 or gap(i).strip(" ") in (",", ""))
                # «Рубцовск, Комсомольская 100»: a street right after a named town
                at_start = at_start or (gap(i).strip(" ") == "," and i - 1 in place_ends)
                opener = i == 0 or any(c in gap(i) for c in ".!?(\n")
                if not (prev in STREET_PREPS or at_start or (opener and w.low.endswith(("ая", "ская")) and is_adjective(w.low))):
                    i += 1
                    continue
                if w.low in NOT_STREET_ALONE:
                    i += 1
                    continue
                street_adjective = w.low.endswith(("ая", "ой", "ую")) and is_adjective(w.low)
                if cap_mode and not w.cap and not (prev in STREET_PREPS and street_adjective):
                    i += 1  # «около дома звездная 5» is written in lower case even in a capitalized post
                    continue
                if not cap_mode and not (is_name_like(w.low) or street_adjective):
                    i += 1
                    continue
                name = [w]
                if i + 1 < len(words) and not covered[i + 1] and gap(i + 1).strip(" ") == "" and words[i + 1].low not in STOP:
                    b = words[i + 1]
                    if re.match("[а-я]", b.low) and (b.cap or not cap_mode and is_name_like(b.low)):
                        name.append(b)
                house = parse_house(lower, name[-1].end)
                if house is None:
                    i += 1
                    continue
                if not house.cued and not at_start and prev not in STREET_PREPS and not opener:
                    i += 1
                    continue
            last = i + len(name)
            while last < len(words) and words[last].start < house.end:
                last += 1
            value = street_canonical(None, [x.text for x in name], False)
            claim(_Hit("street", name[0].start, house.end, value, None, house, i, last))
            i = last

    def _detached_houses(self, s: "_Scan") -> None:
        """«на Гагарина у дома 8», «В доме 15 на Степанца»: a house named near its street."""
        hits, lower = s.hits, s.lower
        streets = [h for h in hits if h.kind == "street"]
        if not streets or any(h.house is not None for h in streets):
            return
        street = streets[0]
        m = _HOUSE_AFTER.match(lower, street.end)
        if m is None:
            window = lower[max(0, street.start - 30) : street.start]
            m = _HOUSE_BEFORE.search(window)
            offset = max(0, street.start - 30)
        else:
            offset = 0
        if m is None:
            return
        start, end = m.start("num") + offset, m.end("num") + offset
        street.house = House(m.group("num"), start, end, True)
        hits.append(_Hit("house", start, end, m.group("num")))  # reported as its own mention

    def _ner_settlements(self, s: "_Scan") -> None:
        text, words, prev_low, claim = s.text, s.words, s.prev_low, s.claim
        if not any(w.cap and prev_low(k) in PLACE_PREPS for k, w in enumerate(words)):
            return
        from natasha import Doc as NDoc

        seg, tagger, vocab = self._ner_tools()
        ndoc = NDoc(text.clean)
        ndoc.segment(seg)
        ndoc.tag_ner(tagger)
        for span in ndoc.spans:
            if span.type != "LOC":
                continue
            k = next((k for k, w in enumerate(words) if w.start == span.start), None)
            if k is None or prev_low(k) not in PLACE_PREPS:
                continue
            span.normalize(vocab)
            last = next((j for j in range(k, len(words)) if words[j].end >= span.stop), k) + 1
            claim(_Hit("settlement", span.start, span.stop, " ".join(cap(x) for x in span.normal.split()), None, None, k, last))

    def _ner_tools(self):
        if self._ner is None:
            from natasha import MorphVocab, NewsEmbedding, NewsNERTagger, Segmenter

            log.info("loading natasha NER for the location fallback")
            self._ner = (Segmenter(), NewsNERTagger(NewsEmbedding()), MorphVocab())
        return self._ner

    # ------------------------------------------------------------ result

    def _assemble(self, text: Text, hits: list[_Hit], gaz: Gazetteer | None) -> _Found:
        hits.sort(key=lambda h: h.start)
        out = _Found(mentions=[text.span(h.start, h.end) for h in hits])
        streets = [h for h in hits if h.kind == "street"]
        street = next((h for h in streets if h.house is not None), streets[0] if streets else None)
        settlements = [h for h in hits if h.kind == "settlement"]
        districts = [h for h in hits if h.kind == "district"]
        areas = [h for h in hits if h.kind in ("settlement", "municipality", "district")]
        if street is not None:
            out.street = street.value
            out.house = street.house.text if street.house else None
        if settlements:
            out.settlement = settlements[0].value
        # a street's gazetteer entry tells its town only in a single-town profile or when the name is rare
        street_place = street.place if street is not None else None
        if street_place is not None and street_place.common and not (gaz and gaz.default_municipality):
            street_place = None
        if districts:
            out.district = districts[0].value
        elif street_place is not None and street_place.district and not settlements:
            out.district = street_place.district
        elif settlements and settlements[0].place is not None and settlements[0].place.district:
            out.district = settlements[0].place.district
        # the municipality of the first place named, in reading order
        unknown_first = False
        for h in areas:
            if h.kind == "municipality" and not unknown_first:
                out.municipality = h.value
                break
            if unknown_first:
                if h.place is not None and h.place.needs_cue and h.place.kind == "municipality":
                    out.municipality = h.place.municipality  # «с. Ивановское Рыльского района»
                    break
                continue  # after an unknown village only its district may tell, not another town
            if h.place is not None and h.place.municipality:
                out.municipality = h.place.municipality
                break
            if h.kind == "settlement":
                unknown_first = True
        if out.municipality is None and not areas and street_place is not None and street_place.municipality:
            out.municipality = street_place.municipality
        if out.municipality is None and not settlements and gaz is not None and gaz.default_municipality:
            if out.street or out.district:
                out.municipality = gaz.default_municipality
        return out


# «пр.» is written for both «проспект» and «проезд»
_COMPATIBLE = {"проспект": ("проспект", "проезд")}


def _pick_street(places: list[Place], street_type: str) -> Place | None:
    for p in places:
        if p.street_type in _COMPATIBLE.get(street_type, (street_type,)):
            return p
    return None
