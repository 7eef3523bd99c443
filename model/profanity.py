"""Obscene language (мат) detector: a root matcher that sees through masking and look-alikes.

The text is mapped to a *skeleton* of the same length as `Text.lower` (so a match position is a
position of the clean text and `Text.span` maps it to the original): Latin and digit look-alikes
become Cyrillic (xуй → хуй, 6лядь → блядь, пиzдец → пиздец), masking symbols become "*", URLs
and e-mails become spaces. Three passes run over the skeleton:

1. roots (data/lexicons/profanity.yaml) with their prefixes and exceptions, stretched letters
   allowed (бляяяя, заебали, долбоёбы, нахуя);
2. masked words (х*й, п@здец, е..ть, бл#): the mask runs become "1–3 letters" and the word must
   fit one of the lexicon's obscene forms; letters spelled apart (х у й, б.л.я) are joined;
3. full Latin transliteration (blyat, pizdec, nahuy) on Latin words.

Evidence is the whole offending word in original-text coordinates.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import yamlfile
from .doc import Doc
from .errors import DataError
from .paths import DATA_DIR
from .records import Finding, Span
from .text import WORD_CACHE_SIZE, Text

log = logging.getLogger(__name__)

DEFAULT_LEXICON = DATA_DIR / "lexicons" / "profanity.yaml"
REASON = "profanity"

# Visual and transliteration look-alikes (the text is already lower-cased). Latin-only words are
# dropped after matching, so mapping every Latin letter is safe: only mixed words count.
_LATIN = {
    "a": "а", "b": "б", "c": "с", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "н", "i": "и",
    "j": "й", "k": "к", "l": "л", "m": "м", "n": "п", "o": "о", "p": "р", "q": "к", "r": "г",
    "s": "с", "t": "т", "u": "у", "v": "в", "w": "ш", "x": "х", "y": "у", "z": "з",
    "і": "и", "ї": "и", "ў": "у", "α": "а", "ο": "о", "ε": "е", "χ": "х",
}
_MASKS = "*@#$%_"  # quotes, brackets, commas mask only inside a word, see skeleton()
_SKELETON_MAP = {**_LATIN, **{m: "*" for m in _MASKS}}
_LOOKALIKE_RE = re.compile("[" + re.escape("".join(_SKELETON_MAP)) + "]+")
# digits count as letters only next to a letter (6лядь, e6ать, пи3дец, бл9), never alone (6, 30)
_DIGITS = {"0": "о", "3": "з", "4": "ч", "6": "б", "9": "я"}
# (the regexes below start with the characters they need and check the context after, so that
# `re` can skip ahead to those characters: a lookbehind first is tried at every position)
_DIGIT_RE = re.compile(r"[03469](?:(?<=[а-яa-z][03469])|(?=[а-яa-z]))")
_URL_RE = re.compile(
    r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.]+|\b[\w-]+\.(?:ru|com|рф|su|org|net|info|me|ly|io|cc|to|link|pro)\b\S*",
    re.I,
)
_URL_HINT = re.compile(r"http|www\.|@|\.(?:ru|com|рф|su|org|net|info|me|ly|io|cc|to|link|pro)\b")
_CYR = re.compile(r"[а-яё]")
_LATIN_WORD = re.compile(r"[a-z](?<![a-z0-9][a-z])[a-z0-9']+")  # a word not glued to letters/digits before
# quotes, brackets and doubled commas mask letters only inside a word (х"й, пид)р, х,,й)
_INNER_MASK_RE = re.compile(r"[\"')(,](?<=[а-я][\"')(,])(?:(?<=[\"')(])|(?<=,),+)(?=[а-я])")
_ABBR_BLOCKERS = {"о", "об", "в", "во", "на", "при", "у", "их"}  # «о нах маршрутках» is a typo, not нах
_LETTERS = "абвгдежзийклмнопрстуфхцчшщъыьэюя"
_WORD_CHARS = _LETTERS + "*"
_SPACED_RE = re.compile(r"(?<![а-я*.])[а-я](?:[ \-][а-я](?![а-я*])){2,}")
# what every _SPACED_RE match holds (its 2nd and 3rd letters), found by a scan for the separators
_SPACED_HINT = re.compile(r"[ \-][а-я][ \-][а-я](?![а-я*])")
_MASK_HINT = re.compile(r"[*.\-](?:(?<=\*)|(?<=[а-я][.\-])[.\-]*(?=[а-я]))")  # a mask, or dots/hyphens inside a word
_RUN_CHARS = "абвгдежзийклмнопрстуфхцчшщъыьэюя*.-"
_REPEATS = re.compile(r"(.)\1+")
# letters a mask usually hides in мат (х*й, пи*дите, бл*ть, е*ать)
_LETTERS_1 = tuple("абвгдежзийклмнопрстуфхцчшщъыьэюя")
_FILLERS = _LETTERS_1 + ("уй", "зд", "ля", "ба", "еб", "из", "ую", "уе", "ид", "ди")
_FILLERS_SHORT = ("у", "и", "е", "я", "а", "о", "б", "з", "д", "л", "х", "уй", "зд", "ля", "ба")
_MASKED_CACHE = WORD_CACHE_SIZE  # masked runs whose verdict a detector remembers
_UNSEEN = object()


def _lookalike(m: re.Match) -> str:
    return "".join(_SKELETON_MAP[c] for c in m.group())


def _stretch(pattern: str) -> str:
    """Let every Cyrillic letter and [class] of a pattern repeat: бля → б+л+я+ (бляяяя)."""
    out = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[":
            j = pattern.index("]", i + 1)
            out.append(pattern[i : j + 1])
            i = j + 1
        else:
            out.append(ch)
            i += 1
            if not ("а" <= ch <= "я" or ch in "ё"):
                continue
        if i >= n or pattern[i] not in "+*?{":
            out.append("+")
    return "".join(out)


@dataclass
class Root:
    id: str
    where: str  # "start" | "anywhere"
    patterns: list[str]
    prefixes: list[str]
    compounds: list[str]
    exceptions: list[str]
    keys: list[str]


@dataclass
class ProfanityLexicon:
    roots: list[Root]
    abbreviations: list[str]
    exceptions: list[str]
    forms: list[str]
    latin: list[str]
    score: float = 0.99
    masked_score: float = 0.95
    abbreviation_score: float = 0.85

    @classmethod
    def load(cls, path: Path | str = DEFAULT_LEXICON) -> "ProfanityLexicon":
        path = Path(path)
        try:
            with open(path, encoding="utf-8") as f:
                raw = yamlfile.safe_load(f)
        except FileNotFoundError:
            raise DataError(f"{path}: profanity lexicon not found") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("roots"), list):
            raise DataError(f"{path}: expected a mapping with a 'roots' list, got {type(raw).__name__}")
        roots = []
        for k, r in enumerate(raw["roots"]):
            if not isinstance(r, dict) or not r.get("id") or not r.get("patterns"):
                raise DataError(f"{path}: roots[{k}] expected 'id' and 'patterns', got {r!r}")
            where = r.get("where", "start")
            if where not in ("start", "anywhere"):
                raise DataError(f"{path}: roots[{k}].where expected 'start' or 'anywhere', got {where!r}")
            roots.append(Root(
                id=str(r["id"]), where=where, patterns=[str(p) for p in r["patterns"]],
                prefixes=[str(p) for p in r.get("prefixes") or []],
                compounds=[str(p) for p in r.get("compounds") or []],
                exceptions=[str(p) for p in r.get("exceptions") or []],
                keys=[str(p) for p in r.get("keys") or []],
            ))
            if not roots[-1].keys:
                raise DataError(f"{path}: roots[{k}] expected 'keys' (letter pairs every match contains)")
        return cls(
            roots=roots,
            abbreviations=[str(a) for a in raw.get("abbreviations") or []],
            exceptions=[str(e) for e in raw.get("exceptions") or []],
            forms=[str(f).replace("ё", "е") for f in raw.get("forms") or []],
            latin=[str(p) for p in raw.get("latin") or []],
            score=float(raw.get("score", 0.99)),
            masked_score=float(raw.get("masked_score", 0.95)),
            abbreviation_score=float(raw.get("abbreviation_score", 0.85)),
        )


def _compile(pattern: str, path_hint: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error as e:
        raise DataError(f"profanity lexicon {path_hint}: expected a valid regex, got {pattern!r} ({e})") from None


class ProfanityDetector:
    """Finds мат in posts; `predict` returns one list of Findings (empty or one) per doc."""

    name = "profanity"

    def __init__(self, lexicon: ProfanityLexicon):
        self.lexicon = lexicon
        alternatives = []
        self._exceptions: dict[str, re.Pattern] = {}
        # key letter pair → the roots to try on a word that contains it
        self._keys: dict[str, list[str]] = {}
        self._root_re: dict[str, re.Pattern] = {}
        self._anywhere: set[str] = set()
        for root in lexicon.roots:
            for p in root.patterns + root.exceptions:
                _compile(p, f"roots[{root.id}]")  # a clear error before stretching touches it
            body = "|".join(_stretch(p) for p in root.patterns)
            if root.where == "start":
                heads = sorted(set(root.prefixes) | set(root.compounds), key=len, reverse=True)
                head = f"(?:{'|'.join(_stretch(h) for h in heads)})?" if heads else ""
                regex = f"{head}(?:{body})"
                alternatives.append(f"(?P<r_{root.id}>(?<![а-я]){regex})")
            else:
                regex = f"(?:{body})"
                self._anywhere.add(root.id)
                alternatives.append(f"(?P<r_{root.id}>{regex})")
            self._root_re[root.id] = _compile(regex, f"roots[{root.id}]")
            for key in root.keys:
                self._keys.setdefault(key, []).append(root.id)
            excs = root.exceptions + lexicon.exceptions
            if excs:
                self._exceptions[root.id] = _compile("|".join(f"(?:{e})" for e in excs), f"roots[{root.id}].exceptions")
        if lexicon.abbreviations:
            abbr = "|".join(_stretch(a) for a in sorted(lexicon.abbreviations, key=len, reverse=True))
            alternatives.append(f"(?P<abbr>(?<![а-я*])(?:{abbr})(?![а-я*]))")
            self._abbr = _compile(f"(?:{abbr})(?![а-я*])", "abbreviations")
            for a in lexicon.abbreviations:
                self._keys.setdefault(a, []).append("abbr")
        # searched again from the next character after each hit, so that keys may overlap (нах and ху
        # in нахуй): the same hits as a lookahead `(?=(...))`, which `re` would try at every position
        self._key_re = re.compile("(" + "|".join(re.escape(k) for k in sorted(self._keys, key=len, reverse=True)) + ")")
        # the whole lexicon as one regex: used on short joined strings (х у й → хуй)
        self._main = _compile("|".join(alternatives), "roots")
        self._latin = _compile("(?:" + "|".join(f"(?:{p})" for p in lexicon.latin) + ")", "latin") if lexicon.latin else None
        # forms are compared with repeated letters folded, like the masked words
        self._forms_text = "\n".join(sorted({_REPEATS.sub(r"\1", f) for f in lexicon.forms}))
        self._masked_seen: dict[str, tuple[int, int, float] | None] = {}  # run → `_masked_hit(run)`

    @classmethod
    def from_data(cls, data_dir: Path | str = DATA_DIR) -> "ProfanityDetector":
        return cls(ProfanityLexicon.load(Path(data_dir) / "lexicons" / "profanity.yaml"))

    # ------------------------------------------------------------------ matching

    @staticmethod
    def skeleton(lower: str) -> str:
        """Same-length mapping of `Text.lower`: look-alikes → Cyrillic, masks → "*", URLs → spaces."""
        if ("." in lower or "@" in lower) and _URL_HINT.search(lower):
            lower = _URL_RE.sub(lambda m: " " * len(m.group()), lower)
        skel = _LOOKALIKE_RE.sub(_lookalike, lower) if _LOOKALIKE_RE.search(lower) else lower
        if _INNER_MASK_RE.search(skel):
            skel = _INNER_MASK_RE.sub(lambda m: "*" * len(m.group()), skel)
        if _DIGIT_RE.search(skel):
            skel = _DIGIT_RE.sub(lambda m: _DIGITS[m.group()], skel)
        return skel

    def _is_exception(self, root_id: str, word: str) -> bool:
        pattern = self._exceptions.get(root_id)
        if pattern is None:
            return False
        word = _REPEATS.sub(r"\1", word.replace("*", ""))
        return pattern.fullmatch(word) is not None

    def find(self, text: Text) -> list[tuple[int, int, float]]:
        """(start, end, score) of every obscene word, in clean-text coordinates."""
        lower = text.lower
        skel = self.skeleton(lower)
        found: dict[tuple[int, int], float] = {}
        for ws, we, kind in self._candidates(skel):
            start, end = _expand(skel, ws, we)
            piece = lower[start:end]
            if not _CYR.search(piece) and not any(c.isdigit() or c in _MASKS for c in piece):
                continue  # a plain Latin word (ebay, hub): only the transliteration pass judges it
            if sum(c.isalpha() for c in piece) < 2:
                continue  # a letter and a digit (Е6, 6Б) is a code, not a word
            if kind == "abbr":
                if _previous_word(skel, start) in _ABBR_BLOCKERS:
                    continue
                score = self.lexicon.abbreviation_score
            else:
                if self._is_exception(kind, skel[start:end]):
                    continue
                score = self.lexicon.score
            _add(found, start, end, score)

        if "*" in skel or "." in skel or "-" in skel:
            last = -1
            for h in _MASK_HINT.finditer(skel):
                if h.start() < last:
                    continue
                ws, we = h.start(), h.end()
                while ws > 0 and skel[ws - 1] in _RUN_CHARS:
                    ws -= 1
                while we < len(skel) and skel[we] in _RUN_CHARS:
                    we += 1
                last = we
                self._masked(skel[ws:we], ws, found)
        if (" " in skel or "-" in skel) and _SPACED_HINT.search(skel):
            for m in _SPACED_RE.finditer(skel):
                joined = re.sub(r"[ \-]", "", m.group())
                if self._joined_hits(joined):
                    _add(found, m.start(), m.end(), self.lexicon.score)
        if self._latin is not None and _LATIN_WORD.search(lower):
            self._latin_hits(lower, found)
        return _merge(found)

    def _candidates(self, skel: str):
        """(start, end, root id) of root matches, tried only on words that hold a key."""
        tried: set[tuple[int, str]] = set()
        n = len(skel)
        search = self._key_re.search
        km = search(skel)
        while km is not None:
            i = km.start()
            key = km.group(1)
            km = search(skel, i + 1)
            ws = i
            while ws > 0 and skel[ws - 1] in _LETTERS:
                ws -= 1
            for rid in self._keys[key]:
                if (ws, rid) in tried:
                    continue
                tried.add((ws, rid))
                if rid == "abbr":
                    if ws > 0 and skel[ws - 1] == "*":
                        continue
                    m = self._abbr.match(skel, ws)
                elif rid in self._anywhere:
                    we = i
                    while we < n and skel[we] in _LETTERS:
                        we += 1
                    m = self._root_re[rid].search(skel, ws, we)
                else:
                    m = self._root_re[rid].match(skel, ws)
                if m is not None:
                    yield m.start(), m.end(), rid

    def _latin_hits(self, lower: str, found: dict[tuple[int, int], float]) -> None:
        plain = _URL_RE.sub(lambda m: " " * len(m.group()), lower) if _URL_HINT.search(lower) else lower
        for w in _LATIN_WORD.finditer(plain):
            if self._latin.match(plain, w.start()) is None:
                continue
            start, end = w.start(), w.end()
            while end < len(plain) and (plain[end].isalnum() or plain[end] in "*'"):
                end += 1
            if _CYR.search(plain[start:end]):
                continue  # mixed words were judged on the skeleton
            _add(found, start, end, self.lexicon.score)

    def _masked(self, run: str, offset: int, found: dict[tuple[int, int], float]) -> None:
        # the verdict depends on the run alone, and runs repeat (г.курск, ул.ленина, т.е.)
        hit = self._masked_seen.get(run, _UNSEEN)
        if hit is _UNSEEN:
            if len(self._masked_seen) >= _MASKED_CACHE:
                self._masked_seen.clear()
            hit = self._masked_seen[run] = self._masked_hit(run)
        if hit is not None:
            start, end, score = hit
            _add(found, offset + start, offset + end, score)

    def _masked_hit(self, run: str) -> tuple[int, int, float] | None:
        """(start, end, score) within the run of a masked obscene word, or None."""
        # drop sentence dots around the word (конец.), keep masks (бл*)
        lead = len(run) - len(run.lstrip(".-"))
        run_s = run.strip(".-")
        if not run_s or not any(c not in "*.-" for c in run_s):
            return None
        start, end = lead, lead + len(run_s)
        chunks = [c for c in re.split(r"[*.\-]+", run_s) if c]
        if len(chunks) >= 3 and all(len(c) == 1 for c in chunks):
            if self._joined_hits("".join(chunks)):
                return start, end, self.lexicon.score
        letters = sum(len(c) for c in chunks)
        if "*" in run_s:
            if letters < 2 and run_s[0] == "*":
                return None  # «"О правилах»: a quote or a bullet before a short word
        elif ".." in run_s or "--" in run_s:
            if letters < 3:
                return None
        elif letters < 4:
            return None  # initials and short abbreviations (Е.Л., т.е., А-Я)
        # г.Омск, т.е. never fit an obscene form; п.здец, бл.ть do
        if all(_REPEATS.sub(r"\1", c) in self._forms_text for c in chunks) and self._fits_form(run_s):
            return start, end, self.lexicon.masked_score
        # a form the list lacks (пи*дите): fill the masks with letters and ask the roots
        inner = run_s.strip("*")
        if "*" in inner and inner.count("*") <= 4 and run_s == inner and self._filled_hits(run_s):
            return start, end, self.lexicon.masked_score
        return None

    def _filled_hits(self, run: str) -> bool:
        pieces = re.findall(r"\*+|[^*]+", run.replace(".", "").replace("-", ""))
        masks = [k for k, p in enumerate(pieces) if p[0] == "*"]
        if not masks or len(masks) > 2:
            return False
        # one mask char hides one letter; a longer run may hide two
        choices = [(_LETTERS_1 if len(pieces[k]) == 1 else _FILLERS) if len(masks) == 1 else _FILLERS_SHORT for k in masks]
        for a in choices[0]:
            for b in (choices[1] if len(masks) == 2 else ("",)):
                filled = list(pieces)
                filled[masks[0]] = a
                if len(masks) == 2:
                    filled[masks[1]] = b
                if self._joined_hits("".join(filled)):
                    return True
        return False

    def _joined_hits(self, joined: str) -> bool:
        for m in self._main.finditer(joined):
            if m.lastgroup == "abbr" or not self._is_exception((m.lastgroup or "")[2:], joined):
                return True
        return False

    def _fits_form(self, word: str) -> bool:
        return _form_regex(word).search(self._forms_text) is not None

    # ------------------------------------------------------------------ component protocol

    def predict(self, docs: list[Doc]) -> list[list[Finding]]:
        out = []
        for doc in docs:
            hits = self.find(doc.text)
            if not hits:
                out.append([])
                continue
            evidence = [doc.text.span(s, e) for s, e, _ in hits]
            out.append([Finding(REASON, max(score for _, _, score in hits), evidence)])
        return out

    def spans(self, text: Text) -> list[Span]:
        return [text.span(s, e) for s, e, _ in self.find(text)]


@lru_cache(maxsize=4096)
def _form_regex(word: str) -> re.Pattern:
    """A masked word as a regex over whole forms: a run of k masks stands for up to k + 1 letters."""
    parts = []
    for piece in re.findall(r"[*.\-]+|[^*.\-]+", word):
        if piece[0] in "*.-":
            k = len(piece)
            parts.append(f"[а-я]{{0,{k + 1}}}")
        else:
            parts.append(re.escape(_REPEATS.sub(r"\1", piece)))
    return re.compile("^" + "".join(parts) + "$", re.M)


def _expand(skel: str, start: int, end: int) -> tuple[int, int]:
    """Grow a match to the whole word around it; masks count only inside the word (за*бали, not #заебали)."""
    while start > 0 and (skel[start - 1] in _LETTERS or (skel[start - 1] == "*" and start > 1 and skel[start - 2] in _WORD_CHARS)):
        start -= 1
    while start < len(skel) and skel[start] == "*":
        start += 1
    n = len(skel)
    while end < n and skel[end] in _WORD_CHARS:
        end += 1
    return start, end


def _previous_word(skel: str, start: int) -> str:
    m = re.search(r"([а-я]+)[^а-я]*$", skel[max(0, start - 12) : start])
    return m.group(1) if m else ""


def _add(found: dict[tuple[int, int], float], start: int, end: int, score: float) -> None:
    found[(start, end)] = max(found.get((start, end), 0.0), score)


def _merge(found: dict[tuple[int, int], float]) -> list[tuple[int, int, float]]:
    """Sorted spans; a span inside another one is folded into the larger."""
    out: list[tuple[int, int, float]] = []
    for (s, e), score in sorted(found.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
        if out and s < out[-1][1]:
            ps, pe, pscore = out[-1]
            out[-1] = (ps, max(pe, e), max(pscore, score))
        else:
            out.append((s, e, score))
    return out


def _has_latin(s: str) -> bool:
    return re.search(r"[a-z]", s) is not None
