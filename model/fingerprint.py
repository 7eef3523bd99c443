"""Text fingerprints for repeats and incidents: content terms, MinHash signature, facts, place keys.

A fingerprint keeps what the history needs to recognise the same issue later, without the text:
- `terms`: sorted 32-bit hashes of the post's content lemmas (stop words dropped), for an exact
  Jaccard between two posts of one author;
- `signature`: a MinHash over lemma unigrams and bigrams, banded for LSH lookup across authors;
- `facts`: short keys of what a post asserts that can be new in a repeat (a date, a number — house,
  flat, entrance —, a damage, a harmed person, a broken promise, a new thing after «теперь ещё и»);
- `markers`: the author's own repeat words («снова», «до сих пор») — they support a repeat decision.
"""
from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import yamlfile
from .doc import Doc
from .errors import DataError
from .paths import DATA_DIR
from .records import Location
from .text import WORD_CACHE_SIZE, Token, lemmatize

DEFAULT_LEXICON = DATA_DIR / "lexicons" / "repeats.yaml"

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
EMPTY = np.uint32(0xFFFFFFFF)

_MONTHS = (
    "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря"
)
_DATE = re.compile(
    rf"\b(\d{{1,2}})[./](\d{{1,2}})(?:[./](\d{{2,4}}))?\b|\b(\d{{1,2}})\s+({_MONTHS})\b"
)
# a number with an optional house letter («12а», «12/а»); «2й», «3-го» are ordinals of the number
_NUMBER = re.compile(r"(?<![\d.,:/])(\d{1,5})(?:[-/]?([абвгдк])(?![а-я]))?(?![\d.,:]\d)")
_ORDINAL_SUFFIX = re.compile(r"-?(?:й|я|е|го|ой|ом|ую|ю|х|ми|ти|ым)(?![а-я])")
_ORDINALS = {
    "первый": 1, "второй": 2, "третий": 3, "четвертый": 4, "пятый": 5, "шестой": 6, "седьмой": 7,
    "восьмой": 8, "девятый": 9, "десятый": 10,
}
# numbers of time units are durations («2 недели»), not new facts: a repeat of a lasting problem
# naturally says it lasts longer.
_DURATION_AFTER = re.compile(
    r"\s*(?:сек|мин|час|сут|дн|день|дня|недел|нед\.|месяц|мес\.|год|лет|раз|р\.|%|градус|°|утра|вечера|ночи|числ)"
)
_TENS = {"двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят", "восемьдесят", "девяносто", "сто"}
_MONTH_NUM = {m: i + 1 for i, m in enumerate(_MONTHS.split("|"))}


def stable_hash(text: str) -> int:
    """A 32-bit hash that is the same in every process (Python's hash() of str is salted)."""
    return zlib.crc32(text.encode("utf-8"))


STEM = 6


def stem(lemma: str) -> str:
    """The lemma cut to STEM letters: joins what pymorphy leaves apart («закрытый»/«закрыть»,
    «ремонтный»/«ремонт»); rare collisions cost less than missed rewordings."""
    return lemma[:STEM]


# bounded like the other word caches; also shares one int object per frequent term among the
# history entries that hold it
@lru_cache(maxsize=2 * WORD_CACHE_SIZE)
def _term_hash(lemma: str) -> int:
    return stable_hash(stem(lemma))


@dataclass(frozen=True)
class Lexicon:
    stopwords: frozenset[str]
    repeat_markers: tuple[str, ...]
    damage: dict[str, str]  # lemma → damage class
    people: frozenset[str]
    promise: re.Pattern  # the promise patterns as one alternation
    novelty: re.Pattern  # the novelty markers as one alternation, longest first

    @classmethod
    def load(cls, path: Path | str = DEFAULT_LEXICON) -> "Lexicon":
        with open(path, encoding="utf-8") as f:
            raw = yamlfile.safe_load(f)
        if not isinstance(raw, dict):
            raise DataError(f"{path}: expected a mapping, got {type(raw).__name__}")
        for key in ("stopwords", "repeat_markers", "people", "promise_patterns", "novelty_markers"):
            if not isinstance(raw.get(key), list):
                raise DataError(f"{path}: expected a list under {key!r}, got {raw.get(key)!r}")
        if not isinstance(raw.get("damage"), dict):
            raise DataError(f"{path}: expected a mapping class → lemmas under 'damage', got {raw.get('damage')!r}")
        low = lambda xs: [str(x).lower().replace("ё", "е") for x in xs]  # noqa: E731
        try:
            promise = re.compile("|".join(f"(?:{p})" for p in low(raw["promise_patterns"])))
        except re.error as e:
            raise DataError(f"{path}: promise_patterns: expected regular expressions, got {e}") from None
        return cls(
            stopwords=frozenset(low(raw["stopwords"])),
            repeat_markers=tuple(low(raw["repeat_markers"])),
            damage={lemma: str(cls) for cls, lemmas in raw["damage"].items() for lemma in low(lemmas or [])},
            people=frozenset(low(raw["people"])),
            promise=promise,
            novelty=re.compile(
                r"(?<!\w)(?:" + "|".join(re.escape(m) for m in sorted(set(low(raw["novelty_markers"])), key=len, reverse=True))
                + r")(?!\w)"
            ),
        )


@dataclass(frozen=True)
class Fingerprint:
    terms: tuple[int, ...]  # sorted unique hashes of content lemmas
    signature: np.ndarray  # uint32[NUM_PERM]; all EMPTY for a post without content words
    facts: frozenset[str]
    markers: frozenset[str]
    novelty_terms: frozenset[int]  # hashes of content lemmas that follow a «теперь ещё и» marker
    address: "Address | None" = None  # the street and house the text names, if any

    @property
    def empty(self) -> bool:
        return not self.terms


def jaccard(a: tuple[int, ...] | frozenset[int], b: tuple[int, ...] | frozenset[int]) -> float:
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def containment(a, b) -> float:
    """|a ∩ b| / min(|a|, |b|): high when one post is the other plus a few words."""
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / min(len(sa), len(sb))


def signature_similarity(a: np.ndarray, b: np.ndarray) -> float:
    if a[0] == EMPTY or b[0] == EMPTY:
        return 0.0
    return np.count_nonzero(a == b) / len(a)


def lsh_buckets(signatures: np.ndarray) -> np.ndarray:
    """(n, BANDS) int64 bucket keys of (n, NUM_PERM) signatures; stable across processes."""
    sig = np.asarray(signatures, dtype=np.uint64).reshape(-1, BANDS, ROWS)
    mult = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5][:ROWS],
                    dtype=np.uint64)
    with np.errstate(over="ignore"):
        mixed = (sig * mult).sum(axis=2, dtype=np.uint64)
        mixed = mixed ^ (np.arange(BANDS, dtype=np.uint64) * np.uint64(0x100000001B3))
    return (mixed & np.uint64(0x7FFFFFFFFFFFFFFF)).astype(np.int64)


# ---------------------------------------------------------------- places


_STREET_WORD = re.compile(
    r"^(?:улица|ул\.?|проспект|пр-т|пр\.|переулок|пер\.|бульвар|б-р|шоссе|набережная|наб\.|площадь|пл\.|"
    r"проезд|тупик|микрорайон|мкр\.?)\s+|\s+(?:улица|проспект|переулок|бульвар|шоссе|набережная|площадь|проезд)$",
    re.I,
)


def _strip_street_word(street: str) -> str:
    # the location component says «улица Ленина», the text fallback keeps «Ленина»: compare the names
    return _STREET_WORD.sub("", street.strip())


def _norm(part: str | None) -> str:
    return re.sub(r"\s+", " ", part.lower().replace("ё", "е")).strip() if part else ""


GEO_LAT_STEP = 0.002  # ≈ 220 m
GEO_LON_STEP = 0.003  # ≈ 190 m at 55° N


def location_key(location: Location | None, lat: float | None = None, lon: float | None = None,
                 text_address: "Address | None" = None) -> str | None:
    """The most specific place of a post: `h:` street and house, `s:` street, `g:` a geo cell.

    Settlement or district alone is too coarse to say two posts are about one problem. `text` (the
    address found in the text) is the fallback when the location component found no street.
    """
    town = ""
    street = house = ""
    if location is not None and location.street:
        street, house = _street_lemmas(_strip_street_word(location.street)), _norm(location.house)
        town = _norm(location.settlement or location.municipality)
    elif text_address is not None:
        street, house = text_address.street, text_address.house or ""
    if street and house:
        return f"h:{town}|{street}|{house}"
    if street:
        return f"s:{town}|{street}"
    if lat is not None and lon is not None and math.isfinite(lat) and math.isfinite(lon):
        return f"g:{round(lat / GEO_LAT_STEP)}:{round(lon / GEO_LON_STEP)}"
    return None


_NAME = r"((?:\d{1,3}[\s-])?[А-ЯЁ][а-яё]{2,}(?:[\s-][А-ЯЁ][а-яё]+)?)"
_HOUSE = r"(\d{1,4}(?:[абвгдкАБВГДК](?![а-яёА-ЯЁ]))?)(?![\d.,:]\d)"
_ADDRESS = (
    # a street word: «ул. Ленина, 5», «на улице Мира д. 10», «пр. Ветеранов 110»
    re.compile(
        r"(?<![\w])(?:ул(?:ица|ице|ицу|ицы)?\.?|пр(?:осп(?:ект|екте|екту)?|-т|-кт)?\.|проспект[ае]?|"
        r"пер(?:еулок|еулке|\.)|б-р|бульвар[ае]?|шоссе|наб(?:ережная|ережной|\.)|площад[ьи]|пл\.|мкр\.?|"
        r"микрорайон[ае]?)\s*" + _NAME + r"(?:[,\s]+(?:д(?:ом|\.)?\s*)?" + _HOUSE + r")?"
    ),
    # «на Луговой», «по Первомайской»: a capitalized name after на/по is a street (no house)
    re.compile(r"(?<![\w])(?:[Нн]а|[Пп]о)\s+" + r"([А-ЯЁ][а-яё]{3,}(?:ой|ей|ого|ова|ева|ина|ых|ий|ая|ом))(?!\s*,?\s*\d)(?=[\s,.!?:;)]|$)"),
    # a house word or a preposition before «Name N»: «у дома Ленина 5», «на Мира 7», «во дворе Чкалова 21»
    re.compile(
        r"(?<![\w])(?i:дом[ауе]?|д\.|на|по|у|около|возле|напротив|двор[ае]?|подъезд[ае]?|парадн\w+)\s+"
        + _NAME + r"\s*,?\s*(?:д(?:ом|\.)?\s*)?" + _HOUSE
    ),
    # a heading «Садовая 9: …», «Западная 3 - …», «Пушкина 40, 1 подъезд»
    re.compile(r"(?:^|[.!?]\s+)" + _NAME + r"\s*,?\s*" + _HOUSE + r"\s*(?=[:,—–-])"),
    # a capitalized word inside a sentence followed by a number: «на 3 этаже Гоголя 11»
    re.compile(r"(?<=[а-яё,]\s)" + _NAME + r"\s*,?\s*" + _HOUSE),
)


@dataclass(frozen=True)
class Address:
    street: str  # lemmatized words, lower case («советский», «народный ополчение»)
    house: str | None
    start: int  # in clean coordinates
    end: int


def _street_lemmas(name: str) -> str:
    return " ".join(lemmatize(w) for w in re.split(r"[\s-]+", name.lower().replace("ё", "е")) if w)


def text_addresses(clean: str) -> list[Address]:
    """Streets and houses named in the text (clean coordinates), first the most explicit ones.

    A fallback for posts the location component found nothing in; street names are lemmatized
    word by word so «на Советской 33» and «Советская 33» are one place.
    """
    found: list[Address] = []
    for pattern in _ADDRESS:
        for m in pattern.finditer(clean):
            start, end = m.start(1), m.end()
            if any(a.start <= start < a.end or start <= a.start < end for a in found):
                continue
            if m.lastindex and m.lastindex >= 2 and m.group(2) and _DURATION_AFTER.match(clean.lower(), m.end(2)):
                continue  # «Сегодня 3 дня …» is not a house
            house = m.group(2) if m.lastindex and m.lastindex >= 2 else None
            found.append(Address(_street_lemmas(m.group(1)), house.lower() if house else None, start, end))
    return found


def text_address(clean: str) -> tuple[str, str | None] | None:
    found = text_addresses(clean)
    return (found[0].street, found[0].house) if found else None


def geo_neighbours(key: str) -> list[str]:
    """The geo cell and its eight neighbours (a problem on a cell border is in two cells)."""
    _, i, j = key.split(":")
    i, j = int(i), int(j)
    return [f"g:{i + di}:{j + dj}" for di in (-1, 0, 1) for dj in (-1, 0, 1)]


def place_match(a: str | None, b: str | None) -> bool | None:
    """True: same place; False: known different places; None: can't tell (a place is missing)."""
    if not a or not b:
        return None
    ka, kb = a[0], b[0]
    if ka == "g" and kb == "g":
        _, ia, ja = a.split(":")
        _, ib, jb = b.split(":")
        return abs(int(ia) - int(ib)) <= 1 and abs(int(ja) - int(jb)) <= 1
    if ka == "g" or kb == "g":
        return None  # a geo point and a street can't be compared without a geocoder
    sa = a[2:].split("|")
    sb = b[2:].split("|")
    if sa[0] and sb[0] and sa[0] != sb[0]:
        return False
    if sa[1] != sb[1]:
        return False
    if ka == "h" and kb == "h":
        return sa[2] == sb[2]
    return True  # same street, one of the two without a house


def coarse_place(location: Location | None) -> str | None:
    """The place a surge is counted in: settlement or district within the municipality."""
    if location is None:
        return None
    parts = [p for p in (location.municipality, location.district or location.settlement) if p]
    return " / ".join(parts) if parts else None


# ---------------------------------------------------------------- fingerprinter


_HAS_DIGIT = re.compile(r"\d").search


_WORD_RE = re.compile(r"\w+(?:-\w+)*")


def _words(doc: Doc) -> list[Token]:
    """The doc's words with lemmas and offsets, by a plain regex split: razdel's rules cost more
    than everything else here, and one tokenizer for every post keeps fingerprints comparable
    whether or not an earlier step tokenized the text."""
    text = doc.text
    clean, lower = text.clean, text.lower
    return [Token(clean[m.start():m.end()], m.start(), m.end(), m.group(), lemmatize(m.group()))
            for m in _WORD_RE.finditer(lower)]


class Fingerprinter:
    """Turns docs into fingerprints (vectorized MinHash across a batch)."""

    def __init__(self, lexicon_path: Path | str = DEFAULT_LEXICON, num_perm: int = NUM_PERM, seed: int = 7):
        if num_perm != NUM_PERM:
            raise ValueError(f"num_perm: expected {NUM_PERM} (the stored signatures' width), got {num_perm}")
        self.lexicon_path = lexicon_path
        self.num_perm = num_perm
        self.seed = seed
        self.lexicon = Lexicon.load(lexicon_path)
        rng = np.random.RandomState(seed)
        # multiply-shift hashing: h(x) = ((a·x + b) mod 2^64) >> 32 with odd a — universal enough
        self._a = (rng.randint(1, 2**62, size=num_perm, dtype=np.int64).astype(np.uint64) * 2 + 1)
        self._b = rng.randint(0, 2**62, size=num_perm, dtype=np.int64).astype(np.uint64)

    # -- pieces

    @staticmethod
    def place_ranges(doc: Doc, addresses: list[Address]) -> list[tuple[int, int]]:
        """Clean-text ranges that name the place (text addresses, the location's mentions)."""
        ranges = [(a.start, a.end) for a in addresses]
        if doc.location is not None and doc.location.mentions:
            text = doc.text
            for m in doc.location.mentions:
                # mentions are in original coordinates; find the clean range that maps into them
                inside = [i for i, (o, e) in enumerate(zip(text.offsets, text.ends)) if o >= m.start and e <= m.end]
                if inside:
                    ranges.append((inside[0], inside[-1] + 1))
        return ranges

    def content_lemmas(self, doc: Doc, place_ranges: list[tuple[int, int]] = (),
                       words: list | None = None) -> list[str]:
        """Lemmas that say what the issue is: no stop words, no numbers, no street names (the
        place is compared on its own, so a shared address doesn't make two issues look alike)."""
        stop = self.lexicon.stopwords
        words = words if words is not None else _words(doc)
        out = []
        for t in words:
            lemma = t.lemma
            if lemma in stop or len(lemma) < 2 or _HAS_DIGIT(lemma):
                continue
            if place_ranges and any(s <= t.start < e for s, e in place_ranges):
                continue
            out.append(lemma)
        return out

    def _shingle_hashes(self, lemmas: list[str]) -> list[int]:
        hashes = [_term_hash(x) for x in lemmas]
        # only the pair's first STEM characters count (see stem): cut before the cache, whose keys
        # then stay few instead of one per word pair ever seen
        hashes += [_term_hash((a + " " + b)[:STEM]) for a, b in zip(lemmas, lemmas[1:])]
        return hashes

    def signatures(self, shingles: list[list[int]]) -> np.ndarray:
        """(n, NUM_PERM) MinHash signatures of n shingle-hash lists, in one numpy pass."""
        n = len(shingles)
        out = np.full((n, self.num_perm), EMPTY, dtype=np.uint32)
        lengths = np.array([len(s) for s in shingles], dtype=np.int64)
        nonempty = np.flatnonzero(lengths)
        if len(nonempty) == 0:
            return out
        flat = np.fromiter((h for i in nonempty for h in shingles[i]), dtype=np.uint64, count=int(lengths.sum()))
        with np.errstate(over="ignore"):
            hv = ((flat[:, None] * self._a[None, :] + self._b[None, :]) >> np.uint64(32)).astype(np.uint32)
        starts = np.concatenate([[0], np.cumsum(lengths[nonempty])[:-1]])
        out[nonempty] = np.minimum.reduceat(hv, starts, axis=0)
        return out

    def facts(self, doc: Doc, addresses: list[Address], words: list | None = None) -> tuple[frozenset[str], frozenset[int]]:
        lex = self.lexicon
        low = doc.text.lower
        facts: set[str] = set()
        date_spans = []
        for m in _DATE.finditer(low):
            if m.group(1):
                d, mo = int(m.group(1)), int(m.group(2))
                if not (1 <= d <= 31 and 1 <= mo <= 12):
                    continue
            else:
                d, mo = int(m.group(4)), _MONTH_NUM[m.group(5)]
            facts.add(f"date:{d}.{mo}")
            date_spans.append((m.start(), m.end()))
        for m in _NUMBER.finditer(low):
            if any(s <= m.start() < e for s, e in date_spans):
                continue
            after = m.end()
            suffix = _ORDINAL_SUFFIX.match(low, after)
            if suffix and not m.group(2):
                after = suffix.end()
            if _DURATION_AFTER.match(low, after):
                continue  # «2 недели», «3-й день»: how long it lasts, not a new fact
            facts.add(f"num:{int(m.group(1))}{m.group(2) or ''}")
        tokens = words if words is not None else _words(doc)
        for k, t in enumerate(tokens):
            lemma = t.lemma
            if lemma in lex.damage:
                facts.add(f"dmg:{lex.damage[lemma]}")
            elif lemma in lex.people:
                facts.add(f"ppl:{lemma}")
            elif (lemma in _ORDINALS and not _DURATION_AFTER.match(low, t.end)
                  and not (k and tokens[k - 1].lemma in _TENS)):
                facts.add(f"num:{_ORDINALS[lemma]}")  # «в первом подъезде» = «в 1 подъезде»
        if lex.promise.search(low):
            facts.add("promise")
        novelty: set[int] = set()
        for m in lex.novelty.finditer(low):
            following = [t for t in tokens if t.start >= m.end()][:4]
            for t in following:
                if t.lemma not in lex.stopwords and not t.lemma.isdigit():
                    novelty.add(_term_hash(t.lemma))
                    break
        loc = doc.location
        if loc is not None and loc.street:
            facts.add(f"street:{_street_lemmas(_strip_street_word(loc.street))}")
            if loc.house:
                facts.add(f"num:{_norm(loc.house)}")
        for a in addresses:
            facts.add(f"street:{a.street}")
        return frozenset(facts), frozenset(novelty)

    def markers(self, doc: Doc) -> frozenset[str]:
        low = doc.text.lower
        return frozenset(m for m in self.lexicon.repeat_markers if m in low)

    # -- whole docs

    def fingerprint_many(self, docs: list[Doc]) -> list[Fingerprint]:
        addresses = [text_addresses(d.text.clean) for d in docs]
        words = [_words(d) for d in docs]
        lemma_lists = [self.content_lemmas(d, self.place_ranges(d, a), w) for d, a, w in zip(docs, addresses, words)]
        sigs = self.signatures([self._shingle_hashes(ls) for ls in lemma_lists])
        out = []
        for doc, addr, w, lemmas, sig in zip(docs, addresses, words, lemma_lists, sigs):
            facts, novelty = self.facts(doc, addr, w)
            out.append(
                Fingerprint(
                    terms=tuple(sorted({_term_hash(x) for x in lemmas})),
                    signature=sig,
                    facts=facts,
                    markers=self.markers(doc),
                    novelty_terms=novelty,
                    address=addr[0] if addr else None,
                )
            )
        return out

    def fingerprint(self, doc: Doc) -> Fingerprint:
        return self.fingerprint_many([doc])[0]
