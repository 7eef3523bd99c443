"""Rules for threats, calls to violence and intent to harm (no public training data exists).

A post goes through three steps:

1. a word scan (`StemIndex`): every word of `Text.lower` (Latin look-alikes mapped to Cyrillic) is
   looked up among the inflected forms of the lexicon's verbs and against its stems and phrase
   triggers; a post with no candidate word stops here, untokenized. That keeps the common case
   (an ordinary complaint) to a few microseconds.
2. candidates are confirmed by lemma (убирают → убирать is not убить) and the phrase regexes
   whose trigger fired are run; still nothing → stop.
3. the full analysis, per sentence, over razdel tokens and pymorphy forms: a harm cue (a verb of
   harm in a threatening form, or a fixed phrase) plus a target (official, body, person).

Forms decide between threat, call and report: "убью", "сожжём", "пристрелить бы" threaten;
"бейте", "надо вешать", "давайте сожжём" call; "убили дорогу", "убитый двор", "вы нас убиваете"
report and never fire. A negation right before the verb ("не надо никого убивать"), a joke marker in
the sentence ("— шутка"), or a figurative object ("убить время", "сжечь калории", "бить тревогу")
cancel a cue. Lexicon: data/lexicons/threat.yaml.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from . import yamlfile
from .doc import Doc
from .errors import DataError
from .paths import DATA_DIR
from .records import Finding, Span
from .text import WORD_CACHE_SIZE, Text, Token, lemmatize, morph

log = logging.getLogger(__name__)

DEFAULT_LEXICON = DATA_DIR / "lexicons" / "threat.yaml"
REASONS = ("threat_official", "threat_authority", "call_to_violence", "harm_intent")
VERB, PHRASE = "verb", "phrase:"  # screen labels

# Latin and digit look-alikes inside Cyrillic words (the text is already lower-case); same length.
_LOOKALIKES = str.maketrans({
    "a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "k": "к", "m": "м",
    "t": "т", "h": "н", "b": "в", "u": "и", "0": "о", "3": "з", "@": "а",
})
# a Latin letter or @, or 0/3 next to a Cyrillic letter (written to start with the characters it
# needs, so that `re` skips ahead to them instead of trying three branches at every position)
_LOOKALIKE_NEAR = re.compile(r"[a-z@03](?:(?<=[a-z@])|(?<=[а-я][03])|(?=[а-я]))")
_LOOKALIKE_RUN = re.compile("[" + re.escape("".join(chr(c) for c in _LOOKALIKES)) + "]+")
_WORD = re.compile(r"[а-яa-z0-9@*#]*[а-я][а-яa-z0-9@*#]*")
_SENTENCE_END = set(".!?…;")
# quoted words are someone else's ("давайте без «убить всех»"), not the writer's threat
_QUOTED = re.compile(r"«[^«»]{1,80}»|\"[^\"]{1,80}\"|“[^“”]{1,80}”|„[^„“]{1,80}“")
_DETERMINERS = {"тот", "этот", "каждый", "всякий", "весь"}
# 3rd-person object pronouns and the gender/number of the noun they stand for ("им", "ним" read as plural)
_THIRD_PERSON = {"его": "masc", "него": "masc", "ему": "masc", "нему": "masc", "ее": "femn", "нее": "femn",
                 "ей": "femn", "ней": "femn", "ею": "femn", "их": "plur", "них": "plur", "им": "plur",
                 "ним": "plur", "ими": "plur", "ними": "plur"}
_DEMONSTRATIVES = {"этих", "тех", "всех", "этого", "эту", "этой", "этим"}
_POSSESSIVES = {"его", "ее", "их", "ваш", "ваша", "ваше", "ваши", "вашу", "вашего", "вашей", "твой", "твоя",
                "твое", "твои", "твою", "твоего", "твоей"}
_PATRONYMIC = re.compile(r"(?:ович|евич|ьич|овна|евна|ична|инична)(?:а|у|ем|е|ой|ы)?$")

# scores by form: how sure a rule is that the text threatens
_FORM_SCORE = {"threat": 0.9, "call": 0.9, "wish": 0.8, "veiled": 0.7, "conditional": 0.6}
_LABEL_CACHE = 200_000  # words whose screen labels a StemIndex remembers
_NO_LABELS: frozenset[str] = frozenset()


def skeleton(lower: str) -> str:
    """`Text.lower` with look-alikes mapped (yбью → убью, д0лб → долб); the same length."""
    # the same as lower.translate(_LOOKALIKES): translating only the runs of mapped characters
    # skips str.translate's slow per-character path over the Cyrillic text
    return _LOOKALIKE_RUN.sub(_translate_run, lower)


def _translate_run(m: re.Match[str]) -> str:
    return m.group().translate(_LOOKALIKES)


def _mapped(lower: str) -> str:
    # str.translate is slow on Cyrillic text: map only when a look-alike can be there at all
    return skeleton(lower) if _LOOKALIKE_NEAR.search(lower) else lower


def iter_words(lower: str) -> Iterable[re.Match[str]]:
    """Words (with look-alikes mapped) of a lower-case text, as regex matches over its skeleton."""
    return _WORD.finditer(_mapped(lower))


def words(lower: str) -> list[str]:
    """The same words as `iter_words`, as strings (faster when positions are not needed)."""
    return _WORD.findall(_mapped(lower))


def mapped_words(lower: str) -> tuple[str, list[str]]:
    """(the text with look-alikes mapped, `words(lower)`): the mapping done once, for `words` and,
    through `iter_mapped_words(mapped)`, for `iter_words`."""
    mapped = _mapped(lower)
    return mapped, _WORD.findall(mapped)


def iter_mapped_words(mapped: str) -> Iterable[re.Match[str]]:
    """`iter_words(lower)` given the mapped text of `mapped_words(lower)`."""
    return _WORD.finditer(mapped)


class StemIndex:
    """Word-start lookup over many stems, each with labels: which stems does a word start with?

    Stems are indexed by their first 4 letters (2 or 3 for shorter stems), so a common word
    ("прошу", "подъезд") costs a few dict lookups and no string comparisons.
    """

    def __init__(self, entries: Iterable[tuple[str, str]], forms: Iterable[tuple[str, str]] = ()):
        self.forms: dict[str, frozenset[str]] = {}
        by_form: dict[str, set[str]] = {}
        for form, label in forms:
            by_form.setdefault(form, set()).add(label)
        self.forms = {f: frozenset(v) for f, v in by_form.items()}
        grouped: dict[str, dict[str, set[str]]] = {}
        for stem, label in entries:
            stem = stem.strip().lower().replace("ё", "е")
            if len(stem) < 2:
                raise DataError(f"expected stems of at least 2 letters, got {stem!r}")
            grouped.setdefault(stem[:4], {}).setdefault(stem, set()).add(label)
        self.by_head: dict[str, tuple[tuple[str, frozenset[str]], ...]] = {
            head: tuple((stem, frozenset(labels)) for stem, labels in stems.items())
            for head, stems in grouped.items()
        }
        self.lengths = sorted({len(h) for h in self.by_head}, reverse=True)  # 4, 3, 2
        self._seen: dict[str, frozenset[str]] = {}  # word → labels, see `cached_labels`
        self._hits: set[str] = set()  # the words of `_seen` with labels
        self._label_sets: dict[frozenset[str], frozenset[str]] = {}

    def labels(self, word: str) -> set[str]:
        out: set[str] = set(self.forms.get(word, ()))
        by_head = self.by_head
        for n in self.lengths:
            entries = by_head.get(word[:n])
            if entries:
                for stem, labels in entries:
                    if word.startswith(stem):
                        out |= labels
        return out

    def cached_labels(self, word: str) -> frozenset[str]:
        """`labels(word)` as a frozenset, remembered: posts repeat their words (to be read only)."""
        got = self._seen.get(word)
        if got is None:
            seen, _ = self._known([word])
            got = seen[word]
        return got

    def labelled(self, words: list[str]) -> list[tuple[str, frozenset[str]]]:
        """(word, `cached_labels(word)`) for the words that have labels, in order: a post's screen
        with a few set operations instead of a lookup per word (most posts have no such word)."""
        seen, hits = self._known(words)
        if hits.isdisjoint(words):
            return []
        return [(w, seen[w]) for w in words if w in hits]

    def _known(self, words: Iterable[str]) -> tuple[dict[str, frozenset[str]], set[str]]:
        """The cache (word → labels, words with labels), holding every one of `words`. A full cache
        is replaced by a new one, never emptied: a caller holding the old one still finds its words."""
        seen, hits = self._seen, self._hits
        new = set(words).difference(seen)
        if new:
            if len(seen) + len(new) > _LABEL_CACHE:
                seen, hits = self._seen, self._hits = {}, set()
                new = set(words)
            shared = self._label_sets
            for w in new:
                labels = self.labels(w)
                if not labels:
                    seen[w] = _NO_LABELS
                    continue
                # one frozenset per distinct set of labels: few objects for the garbage collector
                labels = frozenset(labels)
                seen[w] = shared.setdefault(labels, labels)
                hits.add(w)
        return seen, hits

    def any_match(self, words: list[str]) -> bool:
        """Does any of the words match (the same test as `labels`, without building sets)?"""
        by_head, lengths, forms = self.by_head, self.lengths, self.forms
        for w in words:
            if w in forms:
                return True
            for n in lengths:
                entries = by_head.get(w[:n])
                if entries and any(w.startswith(stem) for stem, _ in entries):
                    return True
        return False


def lexeme_forms(lemmas: Iterable[str]) -> set[str]:
    """Every inflected form of each lemma (убить → убью, убей, убил ...; сжечь → сожгу, сожжём),
    from pymorphy's dictionary, lower-case with ё → е: matched exactly, so no prefix collisions."""
    analyzer = morph()
    out: set[str] = set()
    for lemma in lemmas:
        lemma = lemma.lower().replace("ё", "е")
        out.add(lemma)
        for parse in analyzer.parse(lemma):
            if parse.normal_form.replace("ё", "е") != lemma:
                continue
            out.update(f.word.replace("ё", "е") for f in parse.lexeme)
    return out


@lru_cache(maxsize=WORD_CACHE_SIZE)
def mostly_noun(word_lower: str) -> bool:
    """The noun readings outweigh the rest ("мочи" is моча/мочь more than мочить; "бей" is бить)."""
    return sum(p.score for p in morph().parse(word_lower) if p.tag.POS == "NOUN") >= 0.5


@lru_cache(maxsize=2 * WORD_CACHE_SIZE)
def grammemes(word_lower: str) -> frozenset[str]:
    """pymorphy grammemes of the most likely parse (POS, tense, person, mood ...)."""
    if not word_lower or not re.search("[а-я]", word_lower):
        return frozenset()
    tag = morph().parse(word_lower)[0].tag
    return frozenset(re.split(r"[ ,]", str(tag)))


def _word_list(data: dict[str, Any], key: str, path: Path) -> frozenset[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataError(f"{path}: expected `{key}` to be a list of strings, got {type(value).__name__}")
    return frozenset(v.lower().replace("ё", "е") for v in value)


def _regex_list(data: dict[str, Any], key: str, path: Path) -> re.Pattern[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataError(f"{path}: expected `{key}` to be a list of regexes, got {type(value).__name__}")
    try:
        return re.compile("|".join(value)) if value else re.compile(r"(?!x)x")
    except re.error as exc:
        raise DataError(f"{path}: {key}: expected valid regexes, got {exc}") from exc


@dataclass(frozen=True)
class Phrase:
    pattern: re.Pattern[str]
    form: str
    reasons: tuple[str, ...]
    unless: re.Pattern[str] | None
    trigger: tuple[str, ...]
    targets: tuple[str, ...] = ("official", "authority", "person")  # target kinds it may point at
    # a regex that must ALSO match somewhere in the post: a veiled hint ("пусть подумает") threatens
    # only when the post exposes an official's family or property ("у мэра дочка в 5 школе")
    requires: re.Pattern[str] | None = None


@dataclass
class ThreatLexicon:
    harm_verbs: dict[str, str]
    veiled_verbs: frozenset[str]
    phrases: list[Phrase]
    officials: frozenset[str]
    bodies: frozenset[str]
    belongings: frozenset[str]
    persons: frozenset[str]
    pronouns: frozenset[str]
    figurative: frozenset[str]
    transparent: frozenset[str]
    negations: frozenset[str]
    call_modals: frozenset[str]
    joke: re.Pattern[str]
    # lawful means in the sentence ("соберём подписи", "в прокуратуру") cancel a veiled phrase:
    # "депутату мало не покажется, когда напишем в прокуратуру"
    legal: re.Pattern[str] = re.compile(r"(?!x)x")
    # words after a veiled verb that make it a figure: "сгорит на работе", "горит синим пламенем"
    veiled_figures: re.Pattern[str] = re.compile(r"(?!x)x")
    # word starts of officials pymorphy mislemmatizes ("губеру" → губрать)
    official_stems: tuple[str, ...] = ()
    # (stem, label) pairs for the word screen: label VERB, or PHRASE + the phrase's index
    screen_entries: list[tuple[str, str]] = field(repr=False, default_factory=list)
    # (inflected form, VERB): every form of the harm and veiled verbs, matched exactly
    screen_forms: list[tuple[str, str]] = field(repr=False, default_factory=list)

    @classmethod
    def load(cls, path: Path | str = DEFAULT_LEXICON) -> "ThreatLexicon":
        path = Path(path)
        if not path.is_file():
            raise DataError(f"expected the threat lexicon at {path}, found none")
        try:
            data = yamlfile.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DataError(f"{path}: expected YAML, got a parse error: {exc}") from exc
        if not isinstance(data, dict):
            raise DataError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
        verbs = data.get("harm_verbs")
        if not isinstance(verbs, dict) or not verbs:
            raise DataError(f"{path}: expected `harm_verbs` to be a non-empty mapping lemma: kind")
        kinds = {"person", "property", "spear", "veiled"}
        for lemma, kind in verbs.items():
            if kind not in kinds:
                raise DataError(f"{path}: harm_verbs.{lemma}: expected one of {sorted(kinds)}, got {kind!r}")
        phrases = []
        for i, item in enumerate(data.get("phrases", [])):
            try:
                form = item["form"]
                if form not in _FORM_SCORE:
                    raise DataError(f"{path}: phrases[{i}].form: expected one of {sorted(_FORM_SCORE)}, got {form!r}")
                reasons = tuple(item.get("reasons", []))
                bad = [r for r in reasons if r not in REASONS]
                if bad:
                    raise DataError(f"{path}: phrases[{i}].reasons: expected reasons from {REASONS}, got {bad}")
                requires = item.get("requires")
                if requires is not None:
                    if requires not in data.get("requirements", {}):
                        raise DataError(f"{path}: phrases[{i}].requires: expected a key of `requirements`, got {requires!r}")
                    requires = re.compile(data["requirements"][requires])
                phrases.append(Phrase(
                    pattern=re.compile(item["pattern"]), form=form, reasons=reasons,
                    unless=re.compile(item["unless"]) if item.get("unless") else None,
                    trigger=tuple(t.lower() for t in item["trigger"]),
                    targets=tuple(item.get("targets", ("official", "authority", "person"))),
                    requires=requires,
                ))
            except (KeyError, TypeError) as exc:
                raise DataError(f"{path}: phrases[{i}]: expected trigger, pattern and form, got {item!r}") from exc
            except re.error as exc:
                raise DataError(f"{path}: phrases[{i}]: expected a valid regex, got {exc}") from exc
        jokes = data.get("joke_markers", [])
        lex = cls(
            harm_verbs={k.replace("ё", "е"): v for k, v in verbs.items()},
            veiled_verbs=_word_list(data, "veiled_verbs", path),
            phrases=phrases,
            officials=_word_list(data, "officials", path),
            bodies=_word_list(data, "bodies", path),
            belongings=_word_list(data, "belongings", path),
            persons=_word_list(data, "persons", path),
            pronouns=_word_list(data, "pronouns", path),
            figurative=_word_list(data, "figurative_objects", path),
            transparent=_word_list(data, "transparent_objects", path),
            negations=_word_list(data, "negations", path),
            call_modals=_word_list(data, "call_modals", path),
            joke=re.compile("|".join(jokes)) if jokes else re.compile(r"(?!x)x"),
            legal=_regex_list(data, "legal_markers", path),
            veiled_figures=_regex_list(data, "veiled_figures", path),
            official_stems=tuple(sorted(_word_list(data, "official_stems", path))),
        )
        entries = [(stem, VERB) for stem in _word_list(data, "stems", path)]
        lex.screen_forms = [(f, VERB) for f in lexeme_forms(list(lex.harm_verbs) + list(lex.veiled_verbs))]
        for i, phrase in enumerate(phrases):
            entries += [(stem, f"{PHRASE}{i}") for stem in phrase.trigger]
        lex.screen_entries = entries
        return lex


@dataclass
class ThreatHit:
    """One rule firing: reasons, how sure, and the evidence as ranges of `Text.clean`."""

    reasons: tuple[str, ...]
    score: float
    ranges: list[tuple[int, int]]
    rule: str


@dataclass
class _Target:
    index: int  # token index
    kind: str  # official | authority | person


class ThreatRules:
    """The rule engine. `find(text)` gives hits in clean coordinates; `predict(docs)` gives Findings."""

    name = "threat"

    def __init__(self, lexicon: ThreatLexicon, window: int = 10):
        self.lexicon = lexicon
        self.window = window
        self.index = StemIndex(lexicon.screen_entries, lexicon.screen_forms)

    @classmethod
    def from_data(cls, data_dir: Path | str = DATA_DIR) -> "ThreatRules":
        return cls(ThreatLexicon.load(Path(data_dir) / "lexicons" / "threat.yaml"))

    # ------------------------------------------------------------ step 1–2: cheap screening

    def screen(self, text: Text) -> list[tuple[str, set[str]]]:
        """(word, labels) for the words of the post that start like a lexicon entry."""
        out = []
        for m in iter_words(text.lower):
            labels = self.index.labels(m.group())
            if labels:
                out.append((m.group(), labels))
        return out

    def candidates(self, text: Text, screened: list[tuple[str, set[str]]] | None = None) -> tuple[bool, list[Phrase]]:
        """(a harm verb in a possible form is present, phrases whose trigger fired)."""
        lex = self.lexicon
        verb = False
        wanted: set[int] = set()
        for word, labels in self.screen(text) if screened is None else screened:
            if not verb and VERB in labels:
                lemma = lemmatize(word)
                if lemma not in lex.harm_verbs and ("будут" in text.lower or "будет" in text.lower):
                    lemma = _passive_lemma(word) or lemma  # "будут разбиты": разбитый → разбить
                if (lemma in lex.harm_verbs or lemma in lex.veiled_verbs) and _may_threaten(word, text.lower):
                    verb = True
            for label in labels:
                if label.startswith(PHRASE):
                    wanted.add(int(label[len(PHRASE):]))
        return verb, [lex.phrases[i] for i in sorted(wanted)]

    # ------------------------------------------------------------ step 3: analysis

    def find(self, text: Text, screened: list[tuple[str, set[str]]] | None = None) -> list[ThreatHit]:
        verb, phrases = self.candidates(text, screened)
        if not verb and not phrases:
            return []
        phrase_matches = []
        for phrase in phrases:
            phrase_matches.extend((phrase, m) for m in phrase.pattern.finditer(text.lower))
        if not verb and not phrase_matches:
            return []
        return self._analyse(text, verb, phrase_matches)

    def _analyse(self, text: Text, verb: bool, phrase_matches: list[tuple[Phrase, re.Match[str]]]) -> list[ThreatHit]:
        tokens = text.tokens
        official_in_post = any(self._is_official(t) for t in tokens)
        quoted = [m.span() for m in _QUOTED.finditer(text.lower)]
        hits: list[ThreatHit] = []
        for start, end in sentences(tokens):
            sent_lo, sent_hi = tokens[start].start, tokens[end - 1].end
            sentence = text.lower[sent_lo:sent_hi]
            if self.lexicon.joke.search(sentence):
                continue
            if verb:
                targets = self._targets(tokens, start, end, official_in_post)
                hits.extend(self._verb_hits(tokens, start, end, targets, quoted))
            # a phrase points at whatever the sentence names ("ждите гостей в администрации")
            mentioned = None
            for phrase, m in phrase_matches:
                if sent_lo <= m.start() < sent_hi and not _inside(m.start(), quoted):
                    if mentioned is None:
                        mentioned = self._targets(tokens, start, end, official_in_post, objects_only=False)
                    hit = self._phrase_hit(phrase, m, sentence, mentioned, tokens, official_in_post, text.lower)
                    if hit is not None:
                        hits.append(hit)
        return hits

    def _is_official(self, token: Token) -> bool:
        if token.lemma in self.lexicon.officials or token.lower.startswith(self.lexicon.official_stems):
            return True
        return len(token.text) > 5 and token.text[0].isupper() and bool(_PATRONYMIC.search(token.lower))

    def _targets(self, tokens: list[Token], start: int, end: int, official_in_post: bool,
                 objects_only: bool = True) -> list[_Target]:
        lex = self.lexicon
        officials = any(self._is_official(tokens[i]) for i in range(start, end))
        bodies = any(tokens[i].lemma in lex.bodies for i in range(start, end))
        out = []
        for i in range(start, end):
            if objects_only and i > start and "PREP" in grammemes(tokens[i - 1].lower) and not (
                    i > start + 1 and tokens[i - 2].lower == "начиная"):
                continue  # "повесьте на него", "с ребёнком": not the object of the verb
            if tokens[i].lemma in _DETERMINERS and i + 1 < end and grammemes(tokens[i + 1].lower) & {"NOUN", "ADJF"}:
                continue  # "в той луже", "каждого дня": a determiner, not a person
            kind = self._target_kind(tokens[i], officials, bodies, official_in_post)
            if tokens[i].lower in _THIRD_PERSON and kind is not None:
                kind = self._antecedent(tokens, i) or kind  # "эта псина ... зарежу её": the dog
            if (kind == "person" or tokens[i].lower in _DEMONSTRATIVES) and i + 2 < end and (
                    tokens[i + 1].lower == "из" and tokens[i + 2].lemma in lex.bodies):
                kind = "official"  # "жуликов из горсовета", "этих из мэрии": people of a body
            if kind is not None:
                out.append(_Target(i, kind))
        return out

    def _antecedent(self, tokens: list[Token], i: int, reach: int = 60) -> str | None:
        """The kind of the nearest earlier noun a 3rd-person pronoun can stand for (gender and number
        agree): "если эта псина кинется на ребёнка, я зарежу её" is about the dog even when the post
        also names the участковый. None when no such noun is near."""
        wanted = _THIRD_PERSON[tokens[i].lower]
        for j in range(i - 1, max(-1, i - reach), -1):
            t = tokens[j]
            if not t.is_word or t.lower in self.lexicon.pronouns:
                continue
            g = grammemes(t.lower)
            kind = self._target_kind(t, False, False, False)
            if kind is None:
                continue
            prev = tokens[j - 1] if j > 0 else None
            if "gent" in g and prev is not None and prev.is_word and "NOUN" in grammemes(prev.lower):
                continue  # "начальница соцзащиты ... навещу её": the head noun, not its genitive
            if wanted == "plur":
                agree = "plur" in g
            else:
                agree = "sing" in g and (wanted in g or (wanted == "masc" and "neut" in g) or "Ms-f" in g)
            if agree:
                # "на какой машине ездит глава ... подожгу её": a belonging's owner decides, as before
                return None if t.lemma in self.lexicon.belongings else kind
        return None

    def _target_kind(self, tok: Token, officials: bool, bodies: bool, official_in_post: bool) -> str | None:
        lex = self.lexicon
        # "соседа-алкаша", "мэр-козёл": a hyphenated compound is a target through any of its parts
        lemmas = [tok.lemma] + ([lemmatize(p) for p in tok.lower.split("-") if p] if "-" in tok.lower else [])
        if self._is_official(tok) or any(x in lex.officials for x in lemmas):
            return "official"
        if any(x in lex.bodies for x in lemmas):
            return "authority"
        if any(x in lex.persons for x in lemmas):
            return "person"
        if any(x in lex.belongings for x in lemmas):
            # a car or a house is a target through its owner
            return "official" if officials else "authority" if bodies else "official" if official_in_post else "person"
        if tok.lower in lex.pronouns:
            return "official" if official_in_post else "person"
        g = grammemes(tok.lower)
        if "anim" in g and ("NOUN" in g) and tok.lemma not in lex.figurative:
            return "person"  # any living being: "собачницу", "жуликов", "кошек"
        return None

    def _form(self, tokens: list[Token], i: int, start: int) -> str | None:
        """threat | call | wish | conditional | veiled | None for the verb at token i."""
        lex = self.lexicon
        tok = tokens[i]
        g = grammemes(tok.lower)
        before = [t.lower for t in tokens[max(start, i - 5) : i] if t.is_word]
        after = [t.lower for t in tokens[i + 1 : i + 4] if t.is_word]
        sentence_before = {t.lower for t in tokens[start:i]}
        if any(w in lex.negations for w in before[-2:]):
            return None
        lets = bool(sentence_before & {"давайте", "давай", "айда"})
        if "impr" in g or ("2per" in g and "plur" in g and "pres" in g and _imperative_reading(tok.lower)
                            and not sentence_before & {"вы", "вас"}):
            return None if mostly_noun(tok.lower) else "call"  # "бейте", "громите офис!"
        if before[-1:] in (["будут"], ["будет"]) and _passive_lemma(tok.lower):
            return "veiled"  # "окна будут выбиты", "здание будет сожжено"
        if "INFN" in g:
            near = before + after
            if any(w in lex.negations for w in before):
                return None
            if lets or any(w in lex.call_modals for w in near):
                return "call"
            if after[:1] == ["бы"] or before[-1:] == ["бы"]:
                return "wish"  # "пристрелить бы его", "вот бы пристрелить"
            intent = {"буду", "будем", "хочу", "хотим", "собираюсь", "собираемся", "готов", "готовы", "иду", "идем"}
            if set(before[-3:]) & intent or after[:1] in (["буду"], ["будем"]):  # "травить буду собак"
                return "call" if lets else "threat"
            if not any(t.is_word for t in tokens[start:i]):
                return "call"  # a sentence that starts with the infinitive: "Сжечь их всех!"
            if before and before[-1] in {"будут", "будет"} and tok.lemma in lex.veiled_verbs:
                return "veiled"  # "здание мэрии будет гореть"
            if before and before[-1] in {"идем", "пойдем", "пошли", "идемте", "айда"}:
                return "call"  # "идём громить мэрию"
            return None
        if "VERB" not in g:
            return None
        if "futr" in g and "1per" in g:
            return "call" if lets else "threat"
        if "pres" in g and "1per" in g and "plur" in g and lets:
            return "call"
        if "futr" in g and "3per" in g and ("plur" in g or tok.lemma in lex.veiled_verbs):
            return "veiled"  # "подожгут", "разнесут", "сгорит": someone will; not "это убьёт бизнес"
        if "past" in g and ("бы" in after[:2] or "бы" in before[-4:]):
            return "conditional"
        return None

    def _figurative(self, tokens: list[Token], i: int, end: int) -> bool:
        """The verb acts on a thing, so it is no threat: "убить время", "бить тревогу", "повесить
        знаки", "бить по проблемам". Body parts and means ("руки", "отраву") are looked past."""
        lex = self.lexicon
        if i > 0 and tokens[i - 1].lemma in lex.figurative and not (
                i > 1 and "PREP" in grammemes(tokens[i - 2].lower)):
            return True  # the object before the verb: "объявления вешать", "время убить"
        for j in range(i + 1, min(end, i + 5)):
            t = tokens[j]
            if not t.is_word:
                return False
            g = grammemes(t.lower)
            if t.lower == "по":
                # striking AT something is a figure unless it is a person
                nxt = tokens[j + 1] if j + 1 < end else None
                return nxt is not None and self._target_kind(nxt, False, False, False) is None
            if "PREP" in g or "CONJ" in g:
                return False
            if self._target_kind(t, False, False, False) is not None or t.lower in lex.pronouns:
                return False
            if t.lemma in lex.transparent:
                continue
            if "NOUN" in g:
                return True  # the first real object is a thing
        return False

    def _owned(self, tokens: list[Token], j: int, start: int, end: int) -> bool:
        """A target of "сгорит"/"будет гореть" is a body or an official, or a thing with its owner
        next to it: "его дом", "ваша мэрия", "машина главы"."""
        lex = self.lexicon
        if tokens[j].lemma not in lex.belongings:
            return True
        near = [t for t in tokens[max(start, j - 2) : min(end, j + 3)] if t.is_word]
        return any(t.lower in _POSSESSIVES or self._is_official(t) or t.lemma in lex.bodies for t in near)

    def _nearest(self, tokens: list[Token], targets: list[_Target], i: int, property_verb: bool = False) -> _Target | None:
        """The target a cue points at: same clause first, then officials over bodies over people,
        then the closest ("приду в администрацию и прибью этого зама" → the official). Verbs of
        destroying property (поджечь, взорвать) rank bodies first ("думцам здание подожгут")."""
        priority = {"official": 1, "authority": 2, "person": 0} if property_verb else {"official": 2, "authority": 1, "person": 0}
        best, best_key = None, None
        for t in targets:
            d = abs(t.index - i)
            if d > self.window:
                continue
            lo, hi = min(t.index, i), max(t.index, i)
            same_clause = not any(tokens[k].text in {",", ";", ":"} for k in range(lo + 1, hi))
            key = (same_clause, priority[t.kind], -d)
            if best_key is None or key > best_key:
                best, best_key = t, key
        return best

    def _verb_hits(self, tokens: list[Token], start: int, end: int, targets: list[_Target],
                   quoted: list[tuple[int, int]] = ()) -> list[ThreatHit]:
        lex = self.lexicon
        hits = []
        for i in range(start, end):
            tok = tokens[i]
            if quoted and _inside(tok.start, quoted):
                continue
            lemma = tok.lemma
            if lemma not in lex.harm_verbs and i > start and tokens[i - 1].lower in {"будут", "будет"}:
                lemma = _passive_lemma(tok.lower) or lemma  # "окна будут разбиты"
            kind = lex.harm_verbs.get(lemma)
            veiled_verb = lemma in lex.veiled_verbs
            if kind is None and not veiled_verb:
                continue
            if kind in ("spear", "veiled"):
                continue  # these threaten only through a phrase ("на вилы", "несчастный случай")
            form = self._form(tokens, i, start)
            if form is None or (veiled_verb and form not in ("veiled", "threat")):
                continue
            if form == "veiled" and not veiled_verb and kind is None:
                continue
            if self._figurative(tokens, i, end):
                continue
            if veiled_verb and lex.veiled_figures.match(" ".join(t.lower for t in tokens[i + 1 : i + 4])):
                continue  # "сгорит на работе", "горит синим пламенем"
            target = self._nearest(tokens, targets, i, kind == "property")
            if target is None:
                continue
            if form in ("veiled", "conditional") and target.kind == "person":
                continue  # "соседи подожгут траву", "убил бы за такие дороги": too weak for people
            if veiled_verb and not self._owned(tokens, target.index, start, end):
                continue  # "мусор будет гореть у меня дома": burning, but nobody's property named
            reasons = _reasons(form, target.kind)
            if target.kind == "authority" and tokens[target.index].lemma == "власть":
                reasons = tuple(r for r in reasons if r != "threat_authority")  # "сносите эту власть": a call
                if not reasons:
                    continue
            hits.append(ThreatHit(reasons, _FORM_SCORE[form], _ranges(tokens, i, target.index), f"verb:{lemma}:{form}"))
        return hits

    def _phrase_hit(self, phrase: Phrase, m: re.Match[str], sentence: str, targets: list[_Target],
                    tokens: list[Token], official_in_post: bool, sentence_text: str = "") -> ThreatHit | None:
        if phrase.unless is not None and phrase.unless.search(sentence):
            return None
        if phrase.requires is not None and not phrase.requires.search(sentence_text):
            return None
        if not phrase.reasons and self.lexicon.legal.search(sentence):
            return None  # "мало не покажется, когда соберём подписи": lawful pressure
        end = m.end()
        while end < len(sentence_text) and sentence_text[end].isalpha():
            end += 1  # the evidence ends at a word end: "Выходите на улицы", not "... на улиц"
        rng = [(m.start(), end)]
        if phrase.reasons:
            reasons = set(phrase.reasons)
            for t in targets:
                if t.kind == "official":
                    reasons.add("threat_official")
                elif t.kind == "authority" and tokens[t.index].lemma != "власть":
                    reasons.add("threat_authority")
            return ThreatHit(tuple(sorted(reasons)), _FORM_SCORE[phrase.form], rng, f"phrase:{phrase.pattern.pattern[:30]}")
        kinds = {t.kind for t in targets if t.kind in phrase.targets}
        if "official" in kinds:
            kind = "official"
        elif "authority" in kinds:
            kind = "authority"
        elif official_in_post and "official" in phrase.targets:
            kind = "official"
        elif kinds:
            kind = "person"
        else:
            return None
        reasons = _reasons(phrase.form, kind)
        return ThreatHit(reasons, 0.8 if phrase.form == "threat" else _FORM_SCORE[phrase.form], rng,
                         f"phrase:{phrase.pattern.pattern[:30]}")

    # ------------------------------------------------------------ findings

    def findings(self, text: Text, screened: list[tuple[str, set[str]]] | None = None) -> list[Finding]:
        return merge_hits(text, self.find(text, screened))

    def predict(self, docs: list[Doc]) -> list[list[Finding]]:
        return [self.findings(doc.text) for doc in docs]


@lru_cache(maxsize=5_000)
def _passive_lemma(word_lower: str) -> str | None:
    """The verb of a short passive participle: "разбиты" → разбить (pymorphy's first parse is the
    adjective разбитый), or None."""
    for p in morph().parse(word_lower):
        if "PRTS" in p.tag and "pssv" in p.tag:
            return p.normal_form.replace("ё", "е")
    return None


@lru_cache(maxsize=5_000)
def _imperative_reading(word_lower: str) -> bool:
    """"громите", "ломайте": pymorphy prefers the indicative, but an imperative reading exists."""
    return any("impr" in p.tag for p in morph().parse(word_lower))


def _may_threaten(word: str, lower: str) -> bool:
    """Cheap form check before tokenizing: "не горит", "сломали", "разбито" cannot threaten."""
    g = grammemes(word)
    if "INFN" in g or "impr" in g or "futr" in g:
        return True
    if "2per" in g and "plur" in g and _imperative_reading(word):
        return True
    if ("будут" in lower or "будет" in lower) and _passive_lemma(word):
        return True
    if "past" in g:
        return " бы " in lower or " б " in lower
    if "pres" in g:
        return "давай" in lower
    return False


def _inside(position: int, quoted: list[tuple[int, int]]) -> bool:
    """Is the cue at this position (of `Text.clean`) in quotation marks?"""
    return any(lo < position < hi for lo, hi in quoted)


def _reasons(form: str, target: str) -> tuple[str, ...]:
    own = {"official": "threat_official", "authority": "threat_authority", "person": "harm_intent"}[target]
    if form == "call":
        return ("call_to_violence",) if target == "person" else ("call_to_violence", own)
    return (own,)


def _ranges(tokens: list[Token], i: int, j: int) -> list[tuple[int, int]]:
    lo, hi = min(i, j), max(i, j)
    if hi - lo <= 4:
        return [(tokens[lo].start, tokens[hi].end)]
    return sorted([(tokens[i].start, tokens[i].end), (tokens[j].start, tokens[j].end)])


def sentences(tokens: list[Token]) -> list[tuple[int, int]]:
    out, start = [], 0
    for i, tok in enumerate(tokens):
        if tok.text and all(c in _SENTENCE_END for c in tok.text):
            if i > start:
                out.append((start, i))
            start = i + 1
    if start < len(tokens):
        out.append((start, len(tokens)))
    return out


def merge_hits(text: Text, hits: list[ThreatHit]) -> list[Finding]:
    """One Finding per reason: the best score, every distinct evidence span (original coordinates)."""
    by_reason: dict[str, tuple[float, list[tuple[int, int]]]] = {}
    for hit in hits:
        for reason in hit.reasons:
            score, ranges = by_reason.get(reason, (0.0, []))
            by_reason[reason] = (max(score, hit.score), ranges + [r for r in hit.ranges if r not in ranges])
    out = []
    for reason in REASONS:
        if reason in by_reason:
            score, ranges = by_reason[reason]
            spans: list[Span] = [text.span(a, b) for a, b in sorted(ranges)]
            out.append(Finding(reason, round(score, 4), spans))
    return out
