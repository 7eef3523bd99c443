"""Text normalization shared by every component, with offsets back to the original text.

`normalize(original)` gives a `Text`:
- `clean`: HTML tags dropped (block tags become a space), entities decoded (`&nbsp;` → space),
  VK markup `[id123|Имя]` reduced to `Имя`, Unicode NFKC, zero-width and control characters
  dropped, runs of white space folded to one space; case kept.
- `lower`: `clean` lower-cased with ё → е, the SAME length as `clean` (index i is the same char).
- `offsets[i]`, `ends[i]`: the range of `original` that produced `clean[i]`;
  `span(start, end)` maps a `[start, end)` range of `clean`/`lower` back to the original.
- `tokens`: razdel tokens of `clean` with `lower` form and pymorphy lemma (ё → е), cached.
"""
from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from razdel import tokenize as _razdel_tokenize

from .records import Span

_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*>|<!--.*?-->", re.S)
_BLOCK_TAGS = {
    "p", "br", "div", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2", "h3", "h4", "h5",
    "h6", "blockquote", "section", "article", "hr", "pre",
}
_ENTITY = re.compile(r"&(#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});?")
_VK_MARKUP = re.compile(r"\[(?:id|club|public|event)\d+\|([^\]\[|]{1,200})\]")
_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}
_WORD = re.compile(r"\w", re.U)


@dataclass
class Token:
    text: str  # as in `clean`
    start: int  # in `clean`
    end: int
    lower: str  # lower-case, ё → е
    lemma: str  # pymorphy normal form (ё → е); the lower form for non-words

    @property
    def is_word(self) -> bool:
        return bool(_WORD.search(self.text))


@dataclass
class Text:
    original: str
    clean: str
    lower: str
    offsets: list[int]
    ends: list[int]
    _tokens: list[Token] | None = field(default=None, repr=False)

    def span(self, start: int, end: int) -> Span:
        """The original-text span for the clean range [start, end)."""
        if start >= end or start >= len(self.offsets):
            pos = self.offsets[start] if start < len(self.offsets) else len(self.original)
            return Span(pos, pos, "")
        o_start, o_end = self.offsets[start], self.ends[end - 1]
        return Span(o_start, o_end, self.original[o_start:o_end])

    @property
    def tokens(self) -> list[Token]:
        if self._tokens is None:
            self._tokens = tokenize(self.clean, self.lower)
        return self._tokens

    @property
    def lemmas(self) -> list[str]:
        return [t.lemma for t in self.tokens if t.is_word]


def lower_yo(text: str) -> str:
    """Lower-case with ё → е, keeping the length (one char in, one char out)."""
    out = []
    for ch in text:
        low = ch.lower()
        out.append(low if len(low) == 1 else ch)
    return "".join(out).replace("ё", "е")


def _decode_pieces(original: str) -> list[tuple[str, int, int]]:
    """(text piece, original start, original end) after dropping tags, decoding entities and VK markup."""
    pieces: list[tuple[str, int, int]] = []
    i, n = 0, len(original)
    while i < n:
        ch = original[i]
        if ch == "<":
            m = _TAG.match(original, i)
            if m:
                name = (m.group(2) or "").lower()
                if name in _BLOCK_TAGS:
                    pieces.append((" ", i, m.end()))
                i = m.end()
                continue
        elif ch == "&":
            m = _ENTITY.match(original, i)
            if m:
                decoded = html.unescape(m.group(0) if m.group(0).endswith(";") else m.group(0) + ";")
                if decoded != m.group(0) and decoded != m.group(0) + ";":
                    pieces.append((decoded, i, m.end()))
                    i = m.end()
                    continue
        elif ch == "[":
            m = _VK_MARKUP.match(original, i)
            if m:
                name_start = m.start(1)
                for k, c in enumerate(m.group(1)):
                    pieces.append((c, name_start + k, name_start + k + 1))
                i = m.end()
                continue
        pieces.append((ch, i, i + 1))
        i += 1
    return pieces


def normalize(original: str) -> Text:
    pieces = _decode_pieces(original)
    chars: list[str] = []
    offsets: list[int] = []
    ends: list[int] = []
    k, n = 0, len(pieces)
    while k < n:
        piece, pos, end = pieces[k]
        # group a base char with the combining marks after it, so NFKC can compose them
        group = piece
        j = k + 1
        while j < n and len(pieces[j][0]) == 1 and unicodedata.combining(pieces[j][0]):
            group += pieces[j][0]
            end = pieces[j][2]
            j += 1
        k = j
        for out in unicodedata.normalize("NFKC", group):
            cat = unicodedata.category(out)
            if out in _ZERO_WIDTH or unicodedata.combining(out):
                continue
            if out.isspace() or cat in ("Cc", "Zl", "Zp", "Zs"):
                if chars and chars[-1] != " ":
                    chars.append(" ")
                    offsets.append(pos)
                    ends.append(end)
                continue
            if cat in ("Cf", "Co", "Cs", "Cn"):
                continue
            chars.append(out)
            offsets.append(pos)
            ends.append(end)
    while chars and chars[-1] == " ":
        chars.pop()
        offsets.pop()
        ends.pop()
    clean = "".join(chars)
    return Text(original=original, clean=clean, lower=lower_yo(clean), offsets=offsets, ends=ends)


@lru_cache(maxsize=1)
def morph():
    """The one pymorphy2 analyzer of the process (loading it costs ~0.3 s and ~15 MB)."""
    import pymorphy2
    import pymorphy2.shapes
    import pymorphy2_dicts_ru

    # pymorphy asks unicodedata.name() of every letter, which raises for letters without a name
    # (Tangut, private use): a word like «сл𗀀во» crashed every parse (found by the API fuzz test)
    pymorphy2.shapes.is_latin_char = _is_latin_char
    # the explicit path skips pymorphy's dictionary discovery through pkg_resources (~0.17 s)
    return pymorphy2.MorphAnalyzer(path=pymorphy2_dicts_ru.get_path(), lang="ru")


@lru_cache(maxsize=4096)
def _is_latin_char(char: str) -> bool:
    """pymorphy2.shapes.is_latin_char for any letter: a letter without a Unicode name is not Latin."""
    return "LATIN" in unicodedata.name(char, "")


# Lemmas known in advance (the artifact's "lemmas" component: pymorphy's own answers for the
# training vocabulary), so a fresh process does not pay pymorphy's ~50-100 µs for every common word.
_KNOWN_LEMMAS: dict[str, str] = {}


@dataclass(frozen=True)
class LemmaTable:
    """word → lemma pairs stored as two newline-joined strings: unpickling a 100k-entry dict takes
    ~0.4 s, splitting two strings ~0.05 s (the service's start time counts)."""

    words: str
    lemmas: str  # "" where the lemma is the word itself

    @classmethod
    def from_mapping(cls, mapping: dict[str, str]) -> "LemmaTable":
        if any("\n" in w or "\n" in lemma for w, lemma in mapping.items()):
            raise ValueError("expected words and lemmas without line breaks, got one with a line break")
        return cls("\n".join(mapping), "\n".join("" if lemma == w else lemma for w, lemma in mapping.items()))

    def as_dict(self) -> dict[str, str]:
        if not self.words:
            return {}
        return {w: lemma or w for w, lemma in zip(self.words.split("\n"), self.lemmas.split("\n"))}

    def __len__(self) -> int:
        return self.words.count("\n") + 1 if self.words else 0


def preload_lemmas(table: LemmaTable | dict[str, str]) -> int:
    """Add `lower form → lemma` pairs computed earlier by `lemmatize`; returns the known words' count."""
    if isinstance(table, LemmaTable):
        table = table.as_dict()
    if not isinstance(table, dict):
        raise TypeError(f"expected a LemmaTable or a dict of word → lemma, got {type(table).__name__}")
    _KNOWN_LEMMAS.update(table)
    return len(_KNOWN_LEMMAS)


def clear_preloaded_lemmas() -> None:
    _KNOWN_LEMMAS.clear()
    lemmatize.cache_clear()


# Per-word caches (lemmas here, the featurizers' hashed n-grams, the importance and threat models'
# vocabulary ids) are bounded at a few thousand words each: posts follow Zipf's law, so 8,192 words
# keep ~85 % of the hits of an unbounded cache, while a 100,000-word cache kept growing for hours
# (~1 KB a word across the caches) and made a serving process's memory climb with every new word.
WORD_CACHE_SIZE = 8192


@lru_cache(maxsize=2 * WORD_CACHE_SIZE)
def lemmatize(word_lower: str) -> str:
    """pymorphy normal form of a lower-case word (ё → е); cached because posts repeat words."""
    known = _KNOWN_LEMMAS.get(word_lower)
    if known is not None:
        return known
    return analyze_lemma(word_lower)


def analyze_lemma(word_lower: str) -> str:
    """The uncached pymorphy answer behind `lemmatize` (the lemma table is built from it)."""
    if not word_lower or not any(c.isalpha() for c in word_lower):
        return word_lower
    if not re.search("[а-я]", word_lower):
        return word_lower
    return morph().parse(word_lower)[0].normal_form.replace("ё", "е")


def tokenize(clean: str, lower: str | None = None) -> list[Token]:
    lower = lower if lower is not None else lower_yo(clean)
    tokens = []
    for t in _razdel_tokenize(clean):
        low = lower[t.start : t.stop]
        tokens.append(Token(t.text, t.start, t.stop, low, lemmatize(low)))
    return tokens
