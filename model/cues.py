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
_WORD_SPLIT = re.compile(r"([^\W\d_]+)")
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
    # re.split with a capturing group gives [gap, word, gap, word, ..., gap]: the same words as
    # `_WORD.finditer`, with their positions summed from the lengths (a Match object per word
    # cost more than everything else here)
    parts = _WORD_SPLIT.split(lower)
    keys: dict[str, list[int]] = {}
    pos = len(parts[0])
    short = ""  # the last word of one or two letters, when it ended right before this gap
    for word, gap in zip(parts[1::2], parts[2::2]):
        key = word[:3]
        if short:
            keys.setdefault(f"{short} {key}", []).append(pos - 1 - len(short))
        positions = keys.get(key)
        if positions is None:
            keys[key] = [pos]
        else:
            positions.append(pos)
        n = len(word)
        # a short word is paired with the next one only across a gap of exactly one character
        short = word if n < 3 and len(gap) == 1 else ""
        pos += n + len(gap)
    return keys


def indexed_positions(lower: str) -> dict[str, tuple[int, ...]]:
    """`word_keys(lower)` restricted to the keys some CueSet indexes, positions as tuples: what
    `CueSet.hits` reads. Most keys of a text are in no index, and a cache of tuples holds few
    objects for the garbage collector to walk (cached like `word_keys`)."""
    if len(lower) <= _CACHE_MAX_CHARS:
        return _cached_indexed_positions(lower)
    return _indexed_positions(lower)


def _indexed_positions(lower: str) -> dict[str, tuple[int, ...]]:
    # `_word_keys` keeping only the keys in _INDEXED
    wanted = _INDEXED
    parts = _WORD_SPLIT.split(lower)
    keys: dict[str, tuple[int, ...]] = {}
    pos = len(parts[0])
    short = ""
    for word, gap in zip(parts[1::2], parts[2::2]):
        key = word[:3]
        if short:
            pair = f"{short} {key}"
            if pair in wanted:
                keys[pair] = keys.get(pair, ()) + (pos - 1 - len(short),)
        if key in wanted:
            keys[key] = keys.get(key, ()) + (pos,)
        n = len(word)
        short = word if n < 3 and len(gap) == 1 else ""
        pos += n + len(gap)
    return keys


_INDEXED: set[str] = set()  # every key some CueSet indexes


def _register_keys(keys) -> None:
    new = set(keys) - _INDEXED
    if new:
        _INDEXED.update(new)
        _cached_indexed_positions.cache_clear()  # its entries lack the new keys


def _clear_caches() -> None:
    _cached_word_keys.cache_clear()
    _cached_indexed_positions.cache_clear()


_CACHE_MAX_CHARS = 4000
_cached_word_keys = lru_cache(maxsize=1024)(_word_keys)
_cached_indexed_positions = lru_cache(maxsize=1024)(_indexed_positions)
word_keys.cache_clear = _clear_caches  # type: ignore[attr-defined]


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
        # alternatives that must scan, each with what every match holds: for each of a few sets of
        # strings, one of the set (a scan is skipped when a set has none in the text)
        self._scans: list[tuple[int, re.Pattern, tuple[tuple[str, ...], ...]]] = []
        for ci, cue in enumerate(self.cues):
            for pattern in cue.patterns:
                for alt in split_alternatives(pattern):
                    keys = _keys(alt)
                    if keys is None:
                        self._scans.append((ci, re.compile(alt), _prechecks(alt)))
                        continue
                    compiled = re.compile(alt)
                    for key in keys:
                        self._index.setdefault(key, []).append((ci, compiled))
        _register_keys(self._index)

    def matches(self, lower: str) -> list[list[re.Match]]:
        """The matches of every cue (one list per cue, in `cues` order)."""
        found = self.hits(lower)
        return [found.get(ci) or [] for ci in range(len(self.cues))]

    def hits(self, lower: str) -> dict[int, list[re.Match]]:
        """The matches of the cues that have any: cue index → its matches (as in `matches`);
        iterate in `sorted` order for the `cues` order."""
        found: dict[int, list[re.Match]] = {}
        seen: set[tuple[int, int, int]] = set()
        index = self._index
        for key, positions in indexed_positions(lower).items():
            entries = index.get(key)  # None: a key of another CueSet
            if entries is None:
                continue
            for ci, compiled in entries:
                for pos in positions:
                    m = compiled.match(lower, pos)
                    if m is not None:
                        _keep(found, seen, ci, m)
        for ci, compiled, needs in self._scans:
            for need in needs:  # (plain loops: generator expressions cost more than the looks)
                for x in need:
                    if x in lower:
                        break
                else:
                    break  # none of this set: no match possible
            else:
                for m in compiled.finditer(lower):
                    _keep(found, seen, ci, m)
        for ci, ms in found.items():
            if len(ms) > 1:
                found[ci] = _no_overlaps(ms)
        return found


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


def required_literals(pattern: str) -> list[frozenset[str]]:
    """Sets of literal strings, every match holding one string of EACH set, read from the regex's
    top level: runs of literal characters ("ук" in \\bук\\b), groups and alternations with literal
    prefixes ("тыс"/"млн" in (?:тыс|млн)), mandatory repeats and small character classes.
    Empty when nothing is known (or when case-insensitive flags make literals unreliable)."""
    try:
        tree = _P.parse(pattern)
    except re.error:
        return []
    if tree.state.flags & (re.IGNORECASE | re.LOCALE):
        return []
    needs: list[frozenset[str]] = []
    run = ""
    for op, av in tree:
        if op is _C.LITERAL:
            run += chr(av)
            continue
        if run:
            needs.append(frozenset([run]))
            run = ""
        if op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):
            continue  # zero width: nothing of the match
        found: frozenset[str] | None = None
        if op is _C.SUBPATTERN and not av[1] and not av[2] and not _scoped_flags(av[3]):
            found = _prefix_set(list(av[3]))
        elif op is _C.BRANCH and not _scoped_flags([(op, av)]):
            found = _prefix_set([(op, av)])
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT) and av[0] >= 1 and not _scoped_flags(list(av[2])):
            found = _prefix_set(list(av[2])) or _first_chars(list(av[2]))
        elif op is _C.IN:
            found = _item_chars(op, av)
        if found:
            needs.append(found)
    if run:
        needs.append(frozenset([run]))
    return needs


def _scoped_flags(items) -> bool:
    """Does a parsed sequence set flags inside ((?i:...))? Then its literals prove nothing."""
    for op, av in items:
        if op is _C.SUBPATTERN:
            if av[1] or av[2] or _scoped_flags(list(av[3])):
                return True
        elif op is _C.BRANCH:
            if any(_scoped_flags(list(b)) for b in av[1]):
                return True
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
            if _scoped_flags(list(av[2])):
                return True
        elif op in (_C.ASSERT, _C.ASSERT_NOT):
            if _scoped_flags(list(av[1])):
                return True
        elif op is _C.ATOMIC_GROUP:
            if _scoped_flags(list(av)):
                return True
    return False


def _prefix_set(items) -> frozenset[str] | None:
    """The literal prefixes one of which starts every match of a parsed sequence (None if unknown)."""
    found = _sequence(items, [""])
    if found is None or not found[0] or not all(found[0]):
        return None
    return frozenset(found[0])


def _prechecks(pattern: str, keep: int = 2) -> tuple[tuple[str, ...], ...]:
    """What a scan needs in a text before it runs: the `keep` rarest of `required_literals` and
    `required_chars` (a text must hold one string of each)."""
    chars = required_chars(pattern)
    try:
        tree = _P.parse(pattern)
    except re.error:
        tree = None
    if tree is None or tree.state.flags & (re.IGNORECASE | re.LOCALE) or _scoped_flags(list(tree)):
        return (tuple(sorted(chars)),) if chars else ()
    needs = set(required_literals(pattern))
    if chars:
        needs.add(chars)
    best: list[frozenset[str]] = []
    for need in sorted(needs, key=lambda n: (_rareness(n), sorted(n))):
        # a set implied by one already kept ("%" by "% ") would only cost a look
        if len(best) < keep and not any(all(any(x in y for x in need) for y in kept) for kept in best):
            best.append(need)
    return tuple(tuple(sorted(n)) for n in best)


def _rareness(strings: frozenset[str]) -> float:
    """How often a text holds one of these strings, roughly (lower: rarer); see `_commonness`."""
    return sum(min(_commonness(frozenset(c)) for c in s) / len(s) for s in strings)


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


def _keep(found: dict, seen: set, ci: int, m: re.Match) -> None:
    """Record a non-empty match of cue `ci` once per span."""
    start, end = m.span()
    if end > start and (ci, start, end) not in seen:
        seen.add((ci, start, end))
        if ci in found:
            found[ci].append(m)
        else:
            found[ci] = [m]
