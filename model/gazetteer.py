"""Per-region gazetteers: the municipalities, districts, settlements and streets a profile knows.

Loaded from data/gazetteers/<profile>.yaml (schema in data/gazetteers/README.md). Every name is
expanded into its case forms once at load time (pymorphy), so matching a post is a dictionary
look-up of word n-grams: «в Кирове», «в Вятских Полянах», «на Садовой» all hit.
"""
from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from . import yamlfile
from .address import ORDINAL, SETTLEMENT_TYPES, STREET_TYPES, WORD, _parses
from .errors import DataError
from .text import lower_yo

log = logging.getLogger(__name__)

KINDS = ("municipality", "district", "settlement", "street")
CASES = ("nomn", "gent", "datv", "accs", "ablt", "loct")
_STREET_TYPE_NAMES = {t.canonical for t in STREET_TYPES.values()}
_SETTLEMENT_TYPE_NAMES = {t.canonical for t in SETTLEMENT_TYPES.values()} | {"посёлок", "поселок"}


# Street names found in most Russian towns: such a street alone says nothing about which town.
COMMON_STREETS = frozenset(
    tuple(n.split())
    for n in """ленина;карла маркса;победы;дружбы;радищева;энгельса;гагарина;дзержинского;советская;школьная;
    красная;молодежная;октябрьская;мира;кирова;пушкина;гоголя;лермонтова;чехова;горького;комсомольская;пролетарская;
    первомайская;садовая;центральная;набережная;заводская;полевая;лесная;новая;строителей;юбилейная;партизанская;
    московская;речная;зеленая;северная;южная;мичурина;суворова;кутузова;маяковского;некрасова;толстого;островского;
    куйбышева;урицкого;луговая;колхозная;рабочая;железнодорожная;вокзальная;почтовая;интернациональная;
    50 лет октября;70 лет октября;матросова;жукова;ватутина;щорса;ломоносова;тургенева;белинского;герцена;крупской;
    челюскинцев;революции;социалистическая;степная;трудовая;майская;мирная;космонавтов;свердлова;калинина;фрунзе;
    чапаева;станционная;республиканская;хуторская;пионерская;кооперативная;шевченко;разина;титова;королева;
    ленинского комсомола;сумская;белгородская;орловская;народная;литовская;малых""".replace("\n", " ").split(";")
)


@dataclass(frozen=True)
class Place:
    kind: str  # municipality | district | settlement | street
    name: str  # canonical output form
    municipality: str | None = None  # the municipal unit it belongs to (itself for a municipality)
    district: str | None = None
    ambiguous: bool = False  # also an ordinary word or surname: needs a cue
    street_type: str | None = None  # «улица», «проспект», ... for streets
    name_first: bool = False  # «Садовая улица» (adjective name before the type word)
    needs_cue: bool = False  # matched by its stem: needs «район»/«округ»/«р-н» next to it

    @property
    def common(self) -> bool:
        """A street name most towns have («улица Ленина»): it does not tell the town."""
        return self.kind == "street" and _split_street(self.name)[1] in COMMON_STREETS


def words_of(text: str) -> tuple[str, ...]:
    return tuple(WORD.findall(lower_yo(text)))


def _nomn_parses(word: str) -> list:
    return [p for p in _parses(word) if "nomn" in p.tag and p.tag.POS in ("NOUN", "ADJF", "PRTF")][:2]


# case forms computed earlier (the artifact's "case_forms" table: training/case_forms.py): inflecting
# the gazetteers' names with pymorphy took ~0.5 s of every start. A name not in the table (a newly
# added place) is inflected as before.
_KNOWN_FORMS: dict[tuple[tuple[str, ...], str | None], tuple[tuple[str, ...], ...]] = {}
_recorded: dict[tuple[tuple[str, ...], str | None], tuple[tuple[str, ...], ...]] | None = None


def preload_case_forms(table: dict) -> int:
    """Add `(words, gender) → forms` answers of `case_forms`; returns the known names' count."""
    if not isinstance(table, dict):
        raise TypeError(f"expected a dict of (words, gender) → case forms, got {type(table).__name__}")
    _KNOWN_FORMS.update(table)
    return len(_KNOWN_FORMS)


def clear_preloaded_case_forms() -> None:
    _KNOWN_FORMS.clear()


def record_case_forms() -> dict:
    """Start recording every `case_forms` answer into the returned dict (training builds the table
    from what loading the gazetteers asks for); `stop_recording_case_forms` ends it."""
    global _recorded
    _recorded = {}
    return _recorded


def stop_recording_case_forms() -> None:
    global _recorded
    _recorded = None


def case_forms(words: tuple[str, ...], gender: str | None = None) -> set[tuple[str, ...]]:
    """All case forms of a (nominative) name: («вятские», «поляны») → {…, («вятских», «полянах»)}.

    Words pymorphy can't read as a nominative noun/adjective (numbers, hyphenated names, genitive
    complements like «маршала») stay as written; a word with two readings («большая»: большой /
    больший) gets the forms of both.
    """
    key = (tuple(words), gender)
    known = _KNOWN_FORMS.get(key)
    if known is None:
        known = tuple(sorted(_inflect_name(key[0], gender)))
    if _recorded is not None:
        _recorded[key] = known
    return set(known)


def _inflect_name(words: tuple[str, ...], gender: str | None) -> set[tuple[str, ...]]:
    def head(w: str) -> tuple[str, str]:  # «кызыл-уруп» inflects its last part: («кызыл-», «уруп»)
        if "-" in w and not any(c.isdigit() for c in w):
            left, _, right = w.rpartition("-")
            return left + "-", right
        return "", w

    heads = [head(w) for w in words]
    parses = [[] if any(c.isdigit() for c in h) else _nomn_parses(h) for _, h in heads]
    out = {tuple(words)}
    for case in CASES:
        options: list[set[str]] = []
        for w, (prefix, _), ps in zip(words, heads, parses):
            forms = set()
            for p in ps:
                grams = {case}
                if p.tag.number == "plur":
                    grams.add("plur")
                elif p.tag.POS in ("ADJF", "PRTF"):
                    grams |= {"sing", gender or p.tag.gender or "masc"}
                f = p.inflect(grams)
                if f is not None:
                    forms.add(prefix + lower_yo(f.word))
            if not forms and len(words) == 1 and not prefix and re.fullmatch(r"[а-я]{3,}", w):
                forms = _guess_forms(w, case)  # a name pymorphy does not know («Даусуз»)
            options.append(forms or {w})
        out.update(itertools.product(*options))
    return out


def _guess_forms(word: str, case: str) -> set[str]:
    """Case forms of an unknown one-word place name by its ending (hard-stem nouns only)."""
    endings = {"gent": "а", "datv": "у", "ablt": "ом", "loct": "е"}
    if word[-1] in "бвгдзклмнпрстфхжшщц" and case in endings:
        return {word + endings[case]}
    if word.endswith("а") and case in ("gent", "datv", "accs", "ablt", "loct"):
        stem = word[:-1]
        return {stem + {"gent": "ы", "datv": "е", "accs": "у", "ablt": "ой", "loct": "е"}[case]}
    return {word}


_QUALIFIER = re.compile(r"^[А-ЯЁ]\.[А-ЯЁ]\.?$")  # «В.О.», «П.С.» after SPb street names


def _split_street(name: str) -> tuple[str, tuple[str, ...], bool]:
    """«улица 10 лет Октября» → («улица», (...name words), name_first=False)."""
    parts = name.split()
    while len(parts) > 2 and _QUALIFIER.match(parts[-1]):
        parts = parts[:-1]
    if parts[0].lower() in _STREET_TYPE_NAMES:
        return parts[0].lower(), words_of(" ".join(parts[1:])), False
    if parts[-1].lower() in _STREET_TYPE_NAMES:
        return parts[-1].lower(), words_of(" ".join(parts[:-1])), True
    return "улица", words_of(name), False


def street_keys(name: str) -> set[tuple[str, ...]]:
    """The word tuples a street is searched by: its name's case forms («на Садовой»), «К. Маркса»
    for «Карла Маркса», «6 Советской» for «6-я Советская»."""
    stype, words, name_first = _split_street(name)
    if stype == "микрорайон":  # «Крутая Горка»: the name agrees with itself
        keys = case_forms(words)
    else:
        keys = case_forms(words, STREET_TYPES[stype].gender if stype in STREET_TYPES else None) if name_first else {words}
    if not name_first and len(words) > 1 and words[0].isalpha() and words[0] not in ("лет", "года"):
        keys = set(keys) | {(words[0][0],) + tuple(words[1:])}
    out = set(keys)
    for key in keys:
        if len(key) > 1 and ORDINAL.match(key[0]):
            out.add((ORDINAL.match(key[0]).group(1),) + key[1:])
    return out


def _strip_type(name: str) -> str:
    parts = name.split()
    if len(parts) > 1 and parts[0].lower() in _SETTLEMENT_TYPE_NAMES:
        return " ".join(parts[1:])
    return name


@dataclass
class Gazetteer:
    profile: str
    default_municipality: str | None = None
    sources: str = ""
    names: dict[tuple[str, ...], list[Place]] = field(default_factory=dict)  # municipalities, settlements
    streets: dict[tuple[str, ...], list[Place]] = field(default_factory=dict)
    stems: dict[tuple[str, ...], list[Place]] = field(default_factory=dict)  # needs a district cue
    max_n: int = 1
    firsts: dict[int, set[str]] = field(default_factory=dict)  # first words of each table's keys

    # ------------------------------------------------------------ building

    def _add(self, table: dict, key: tuple[str, ...], place: Place) -> None:
        if not key:
            return
        bucket = table.setdefault(key, [])
        if place not in bucket:
            bucket.append(place)
        self.max_n = max(self.max_n, len(key))
        self.firsts.setdefault(id(table), set()).add(key[0])

    def add_place(self, place: Place, match: str | None = None, aliases: Iterable[str] = (), stem: str | None = None) -> None:
        if place.kind == "street":
            for key in street_keys(place.name):
                self._add(self.streets, key, place)
        elif stem:
            cue_place = Place(**{**place.__dict__, "needs_cue": True})
            for key in case_forms(words_of(stem), "masc"):
                self._add(self.stems, key, cue_place)
        else:
            for key in case_forms(words_of(match or _strip_type(place.name))):
                self._add(self.names, key, place)
        for alias in aliases:
            table = self.streets if place.kind == "street" else self.names
            self._add(table, words_of(alias), place)

    def add_streets(self, streets: Iterable[tuple]) -> None:
        """Add (street, district, municipality[, keys]) rows, e.g. the SPb index from the artifact.

        `keys` (the street's search keys, `street_keys(street)`) may be precomputed at training
        time: inflecting ~1,700 names with pymorphy takes seconds at every start otherwise.
        """
        for row in streets:
            name, district, municipality = row[:3]
            stype, _, name_first = _split_street(name)
            place = Place("street", name, municipality or self.default_municipality, district, False, stype, name_first)
            for key in row[3] if len(row) > 3 else street_keys(name):
                self._add(self.streets, tuple(key), place)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], origin: str = "<dict>") -> "Gazetteer":
        if not isinstance(raw, dict) or not raw.get("profile"):
            raise DataError(f"{origin}: expected a mapping with 'profile' and 'places', got {type(raw).__name__}")
        places = raw.get("places") or []
        if not isinstance(places, list):
            raise DataError(f"{origin}: expected 'places' to be a list, got {type(places).__name__}")
        gaz = cls(str(raw["profile"]), raw.get("default_municipality"), str(raw.get("sources", "")).strip())
        for i, item in enumerate(places):
            if not isinstance(item, dict) or item.get("kind") not in KINDS or not item.get("name"):
                raise DataError(
                    f"{origin}: places[{i}]: expected kind in {KINDS} and a name, got {item!r}"
                )
            kind, name = item["kind"], str(item["name"])
            municipality = item.get("municipality") or (name if kind == "municipality" else None)
            if kind == "street":
                stype, _, name_first = _split_street(name)
                place = Place(kind, name, municipality, item.get("district"), bool(item.get("ambiguous")), stype, name_first)
            else:
                place = Place(kind, name, municipality, item.get("district"), bool(item.get("ambiguous")))
            gaz.add_place(place, item.get("match"), item.get("aliases") or (), item.get("stem"))
        return gaz

    @classmethod
    def load(cls, path: Path | str) -> "Gazetteer":
        path = Path(path)
        try:
            raw = yamlfile.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise DataError(f"{path}: expected a readable YAML gazetteer, got {exc}") from exc
        return cls.from_dict(raw, str(path))

    # ------------------------------------------------------------ matching

    def longest(self, table: dict, words: list[str], i: int) -> tuple[int, list[Place]]:
        """The longest key of `table` starting at words[i]: (number of words, places) or (0, [])."""
        if words[i] not in self.firsts.get(id(table), ()):
            return 0, []
        for n in range(min(self.max_n, len(words) - i), 0, -1):
            hit = table.get(tuple(words[i : i + n]))
            if hit:
                return n, hit
        return 0, []


def load_gazetteers(directory: Path | str) -> dict[str, Gazetteer]:
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"expected a gazetteer directory at {directory}, found none")
    out = {}
    for path in sorted(directory.glob("*.yaml")):
        gaz = Gazetteer.load(path)
        out[gaz.profile] = gaz
    log.info("loaded %d gazetteers from %s", len(out), directory)
    return out
