"""Regex cues with a cheap gate, for lexicons of many patterns (spam, off-topic).

Python's `re` scans a long alternation of words slowly (every position tries every branch). Most
patterns, though, can only match where a word starts with a known literal (заработ..., крипт...),
so each pattern's literal prefixes are read from the regex itself and the pattern is tried (with
`match`) only at the starts of words that begin with one of them. Patterns without such a prefix (digits, emoji, ^...)
always run. The result is exactly that of running every pattern, minus matches that begin inside
a word with a different start (подзаработать is not seen by "заработ"): the cues are written for
word starts anyway.
"""
from __future__ import annotations

import re
from functools import lru_cache
import re._constants as _C  # the regex parser is private but stable across 3.11+
import re._parser as _P

_WORD = re.compile(r"[^\W\d_]+")
_FIRST_WORD = re.compile(r"[^\W\d_]+")
_SECOND_WORD = re.compile(r" ([^\W\d_]+)")
_MAX_PREFIXES = 400


def word_keys(lower: str) -> dict[str, list[int]]:
    """Where words start in a text, by their first three letters (the whole word when shorter);
    a word of one or two letters is also keyed with the next word ("в лс", "с дне").

    Cached for texts up to a few thousand characters: the spam and off-topic detectors read the
    same texts one after the other (the bound keeps the cache at a few MB).
    """
    if len(lower) <= _CACHE_MAX_CHARS:
        return _cached_word_keys(lower)
    return _word_keys(lower)


def _word_keys(lower: str) -> dict[str, list[int]]:
    keys: dict[str, list[int]] = {}
    short, short_end = "", -2  # the last word of one or two letters
    for m in _WORD.finditer(lower):
        word, pos = m.group(), m.start()
        key = word[:3]
        if short and pos == short_end + 1:
            keys.setdefault(f"{short} {key}", []).append(short_end - len(short))
        if key in keys:
            keys[key].append(pos)
        else:
            keys[key] = [pos]
        short, short_end = (word, m.end()) if len(word) < 3 else ("", -2)
    return keys


_CACHE_MAX_CHARS = 4000
_cached_word_keys = lru_cache(maxsize=1024)(_word_keys)
word_keys.cache_clear = _cached_word_keys.cache_clear  # type: ignore[attr-defined]


class Cue:
    """A named weight with its regexes; `max` caps what repeated matches add (None: counts once)."""

    def __init__(self, id: str, weight: float, patterns: list[str], max: float | None = None):
        self.id = id
        self.weight = weight
        self.max = max
        self.patterns = list(patterns)
        for p in self.patterns:
            re.compile(p)  # re.error is turned into a DataError by the loaders

    def cap(self) -> float:
        """The most (or, for a negative weight, the least) a cue adds; once when no `max`."""
        return self.max if self.max is not None else self.weight

    def added(self, n: int) -> float:
        if n == 0:
            return 0.0
        total = self.weight * n
        return max(total, self.cap()) if self.weight < 0 else min(total, self.cap())


class CueSet:
    """All cues of a lexicon behind one index: key (first ≤3 letters of a word) → alternatives.

    Every pattern is split into its top-level alternatives; an alternative with a literal prefix is
    tried with `match` only at the starts of words with that key; the rest of a cue's alternatives
    (digits, emoji, anchors) are joined into one regex that scans the text.
    """

    def __init__(self, cues: list[Cue]):
        self.cues = list(cues)
        self._index: dict[str, list[tuple[int, re.Pattern]]] = {}
        # alternatives that must scan, each with the characters one of which every match holds
        self._scans: list[tuple[int, re.Pattern, frozenset[str] | None]] = []
        for ci, cue in enumerate(self.cues):
            for pattern in cue.patterns:
                for alt in split_alternatives(pattern):
                    keys = _keys(alt)
                    if keys is None:
                        self._scans.append((ci, re.compile(alt), required_chars(alt)))
                        continue
                    compiled = re.compile(alt)
                    for key in keys:
                        self._index.setdefault(key, []).append((ci, compiled))

    def matches(self, lower: str) -> list[list[re.Match]]:
        """The matches of every cue (one list per cue, in `cues` order)."""
        found: list[list[re.Match]] = [[] for _ in self.cues]
        seen: set[tuple[int, int, int]] = set()
        keys = word_keys(lower)
        for key in keys.keys() & self._index.keys():
            positions = keys[key]
            for ci, compiled in self._index[key]:
                for pos in positions:
                    m = compiled.match(lower, pos)
                    if m is not None and m.end() > m.start() and (ci, m.start(), m.end()) not in seen:
                        seen.add((ci, m.start(), m.end()))
                        found[ci].append(m)
        for ci, compiled, need in self._scans:
            if need is not None and not any(c in lower for c in need):
                continue
            for m in compiled.finditer(lower):
                if m.end() > m.start() and (ci, m.start(), m.end()) not in seen:
                    seen.add((ci, m.start(), m.end()))
                    found[ci].append(m)
        return [_no_overlaps(ms) if len(ms) > 1 else ms for ms in found]


def _commonness(chars: frozenset[str]) -> int:
    """How often a text holds one of these characters, roughly: a precheck wants the rarest."""
    score = 0
    for c in chars:
        if c.isspace():
            score += 100
        elif "а" <= c <= "я" or c == "ё":
            score += 10
        elif c.isdigit():
            score += 4
        elif c.isalpha() or c in ".,-":
            score += 3
        else:
            score += 1
    return score


def _first_chars(items) -> frozenset[str] | None:
    """Characters one of which starts every match of a parsed sequence (None when unknown)."""
    for op, av in items:
        if op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):
            continue
        return _item_chars(op, av)
    return None


def _item_chars(op, av) -> frozenset[str] | None:
    if op is _C.LITERAL:
        return frozenset(chr(av))
    if op is _C.IN:
        out: set[str] = set()
        for o, v in av:
            if o is _C.LITERAL:
                out.add(chr(v))
            elif o is _C.RANGE and v[1] - v[0] <= 40:
                out.update(chr(x) for x in range(v[0], v[1] + 1))
            elif o is _C.CATEGORY and v is _C.CATEGORY_DIGIT:
                out.update("0123456789")
            else:
                return None
        return frozenset(out)
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT) and av[0] >= 1:
        return _first_chars(list(av[2]))
    if op is _C.SUBPATTERN:
        return _first_chars(list(av[3]))
    if op is _C.BRANCH:
        out = set()
        for branch in av[1]:
            chars = _first_chars(list(branch))
            if chars is None:
                return None
            out |= chars
        return frozenset(out)
    return None


def required_chars(pattern: str) -> frozenset[str] | None:
    """The rarest set of characters one of which every match must hold, read from the regex."""
    try:
        items = list(_P.parse(pattern))
    except re.error:
        return None
    best = None
    for op, av in items:
        if op in (_C.MAX_REPEAT, _C.MIN_REPEAT) and av[0] == 0:
            continue  # optional: proves nothing
        chars = _item_chars(op, av)
        if chars and (best is None or _commonness(chars) < _commonness(best)):
            best = chars
    return best


def _keys(alternative: str) -> set[str] | None:
    """Word keys an alternative can start at, or None when it must scan the text.

    A key is the first three letters of the word the match starts with; a shorter first word must
    be a whole word (в лс → "в"), since a stem like "ук" also starts "укладка".
    """
    prefixes = literal_prefixes(alternative)
    if prefixes is None:
        return None
    keys = set()
    for p in prefixes:
        word = _FIRST_WORD.match(p).group()
        if len(word) < 3:
            # a short word is everywhere (в, на, с): key it with the next word when there is one
            nxt = _SECOND_WORD.match(p, len(word))
            if nxt is not None:
                keys.add(f"{word} {nxt.group(1)[:3]}")
                continue
            if word == p:
                return None  # a short stem with nothing after it in the prefix
        keys.add(word[:3])
    return keys


def _no_overlaps(matches: list[re.Match]) -> list[re.Match]:
    """One match per stretch of text, the longest first: «пишите в личку» counts once, not also «в личку»."""
    kept: list[re.Match] = []
    for m in sorted(matches, key=lambda m: (m.start(), -m.end())):
        if kept and m.start() < kept[-1].end():
            continue
        kept.append(m)
    return kept


def split_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regex: "a|(?:b|c)d" → ["a", "(?:b|c)d"]."""
    out, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
        i += 1
    out.append(pattern[start:])
    return out


def literal_prefixes(pattern: str) -> list[str] | None:
    """Literal prefixes, starting with a letter, one of which starts every match; None when unknown."""
    try:
        tree = _P.parse(pattern)
    except re.error:
        return None
    found = _sequence(list(tree), [""])
    if found is None:
        return None
    prefixes, _ = found
    if not prefixes or any(not p[:1].isalpha() for p in prefixes):
        return None
    return sorted(set(prefixes))


def _sequence(items, prefixes: list[str]):
    """(prefixes, whole sequence was literal) or None when the prefixes blow up."""
    for op, av in items:
        if op is _C.LITERAL:
            prefixes = [p + chr(av) for p in prefixes]
        elif op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):
            continue  # \b, ^, lookarounds: zero width
        elif op is _C.SUBPATTERN:
            sub = _sequence(list(av[3]), [""])
            if sub is None:
                return None
            prefixes = [p + s for p in prefixes for s in sub[0]]
            if len(prefixes) > _MAX_PREFIXES:
                return None
            if not sub[1]:
                return prefixes, False
        elif op is _C.BRANCH:
            outs, complete = [], True
            for branch in av[1]:
                sub = _sequence(list(branch), [""])
                if sub is None:
                    return None
                outs.extend(sub[0])
                complete = complete and sub[1]
            prefixes = [p + s for p in prefixes for s in outs]
            if len(prefixes) > _MAX_PREFIXES:
                return None
            if not complete:
                return prefixes, False
        elif op is _C.IN and len(av) <= 4 and all(o is _C.LITERAL for o, _ in av):
            prefixes = [p + chr(v) for p in prefixes for _, v in av]
        else:
            return prefixes, False
    return prefixes, True
