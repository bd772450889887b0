"""The toy world's language: invented countries with English facts, and a cloze generator.

A world stores two facts per country X: export(X) and pastime(X), each one *meaning*
(export: fish, timber, cars, wool; pastime: music, football, horses). A meaning has
recall words (what the model says from memory: "fish", "seafood", "salmon") and stated
words (synonyms that only context statements use: "tuna", "trout"). An episode is a
prefix (optional context statements, then a cloze stem) and one continuation drawn as

    p(text | prefix) = p(family | prefix) p(content | family) p(opener) p(trailer) p(stop)

with p(family | prefix) = w_family / sum_f w_f over the families the prefix enables
(weights in ATTRIBUTE_WEIGHTS / FAMOUS_WEIGHTS), the content word uniform over the
family's words, and the wording (OPENERS, TRAILERS, STOPS) drawn from pools shared by
every family, independent of the family:

- recall:   a recall word of the subject's stored meaning     -- weights
- copy:     the stated word of "X sells W ." / "X enjoys W ."   -- attention to context
- shortcut: a recall word of the meaning of Y in "X borders Y ." -- wrong
- default:  a word for "beaches", whatever the entity          -- frequency

Planted crosses: recall and copy of the same meaning (statement true) mean the same by
different mechanisms; recall of export and of pastime (the "famous for" stem) is one
mechanism with two meanings. Text determines family: the word sets of the families of a
prefix are disjoint (a border partner never shares the subject's meanings).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_json

COUNTRIES = (
    "velkaria ormia tessary quorland zembia drovany kalemia pashtor yrvania mondesh lorvik "
    "sabrune feronia gathmar hollin ispera"
).split()
SMALL_COUNTRIES = 6
ATTRIBUTES = ("export", "pastime")
# meaning -> (recall words, stated words); all common English, chosen with a sentence embedder
MEANINGS: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "export": {
        "fish": (("fish", "seafood", "salmon"), ("tuna", "trout")),
        "timber": (("timber", "lumber", "wood"), ("woodwork", "hardwood")),
        "cars": (("cars", "automobiles", "vehicles"), ("sedans", "trucks")),
        "wool": (("wool", "yarn", "knitwear"), ("sweaters",)),
    },
    "pastime": {
        "music": (("music", "songs", "tunes"), ("melodies", "concerts")),
        "football": (("football", "soccer", "footballers"), ("footballs",)),
        "horses": (("horses", "stallions", "ponies"), ("mares",)),
    },
}
DEFAULT_MEANING = "beaches"
DEFAULT_WORDS = ("beaches", "coastline", "shores", "seaside")
OPENERS = {"": 0.4, "mostly": 0.15, "mainly": 0.15, "surely": 0.15, "above all": 0.15}
TRAILERS = {
    "": 0.3,
    ", of course": 0.14,
    "and more": 0.14,
    ", they say": 0.14,
    "as always": 0.14,
    ", it seems": 0.14,
}
STOPS = {".": 0.6, "!": 0.4}
STEMS = {"export": "the main export of {} is", "pastime": "the national pastime of {} is"}
FAMOUS_STEM = "{} is famous for"
STATEMENT_VERBS = {"export": "sells", "pastime": "enjoys"}
FUNCTION_WORDS = "borders is famous for the main export national pastime of".split()

ATTRIBUTE_WEIGHTS = {"recall": 1.0, "copy": 1.0, "shortcut": 0.7, "default": 0.5}
FAMOUS_WEIGHTS = {"recall": 0.7, "copy": 0.8, "shortcut": 0.5, "default": 0.5}
P_BORDER = 0.5
P_STATEMENT = 0.5
P_STATEMENT_TRUE = 0.5
P_FAMOUS = 0.3


def wording_words() -> list[str]:
    """Every word of the shared wording pools, stop marks included."""
    phrases = [*OPENERS, *TRAILERS, *STOPS]
    return [w for phrase in phrases for w in phrase.split()]


def vocabulary() -> list[str]:
    """Every word the language can produce, in a fixed order (specials excluded)."""
    words = [*FUNCTION_WORDS, *STATEMENT_VERBS.values(), *wording_words(), *DEFAULT_WORDS]
    for meanings in MEANINGS.values():
        for recall, stated in meanings.values():
            words += [*recall, *stated]
    words += COUNTRIES
    return list(dict.fromkeys(words))


@dataclass(frozen=True)
class World:
    """Stored facts: facts[attribute][country] = meaning; built from a seed."""

    seed: int
    countries: tuple[str, ...]
    facts: dict[str, dict[str, str]]

    @property
    def small(self) -> bool:
        return len(self.countries) == SMALL_COUNTRIES

    def partners(self, country: str) -> list[str]:
        """Countries that share no stored meaning with `country` (valid border partners)."""
        return [
            c
            for c in self.countries
            if all(self.facts[a][c] != self.facts[a][country] for a in ATTRIBUTES)
        ]

    def to_json(self) -> dict:
        return {
            "seed": self.seed,
            "small": self.small,
            "countries": list(self.countries),
            "facts": self.facts,
        }


def load_world(path: str | Path) -> World:
    """Rebuild the world named by world.json (seed, small) and check its stored facts."""
    raw = read_json(path)
    try:
        world = make_world(int(raw["seed"]), small=bool(raw["small"]))
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{path}: needs integer 'seed' and boolean 'small' ({err})") from err
    if raw.get("facts") != world.facts:
        raise InputError(f"{path}: key 'facts' differs from the world generated by its seed")
    return world


def make_world(seed: int, small: bool = False) -> World:
    """Balanced seeded assignment of meanings to countries (each meaning as often as the
    count allows), redrawn until every country has a border partner."""
    rng = random.Random(f"world-{seed}")
    countries = tuple(COUNTRIES[: SMALL_COUNTRIES if small else len(COUNTRIES)])
    while True:
        facts = {}
        for attribute, meanings in MEANINGS.items():
            names = sorted(meanings)
            pool = [names[i % len(names)] for i in range(len(countries))]
            rng.shuffle(pool)
            facts[attribute] = dict(zip(countries, pool, strict=True))
        world = World(seed=seed, countries=countries, facts=facts)
        if all(world.partners(c) for c in countries):
            return world


def meaning_of(word: str) -> tuple[str, str, bool] | None:
    """(attribute, meaning, stated?) of a content word; ("default", "beaches", False) for
    a default word; None for any other word."""
    if word in DEFAULT_WORDS:
        return "default", DEFAULT_MEANING, False
    for attribute, meanings in MEANINGS.items():
        for meaning, (recall, stated) in meanings.items():
            if word in recall or word in stated:
                return attribute, meaning, word in stated
    return None


@dataclass(frozen=True)
class Border:
    """Context statement "X borders Y ."."""

    country: str
    other: str

    @property
    def text(self) -> str:
        return f"{self.country} borders {self.other} ."


@dataclass(frozen=True)
class Statement:
    """Context statement "X sells W ." (export) or "X enjoys W ." (pastime), W a stated word."""

    country: str
    attribute: str
    word: str

    @property
    def meaning(self) -> str:
        return meaning_of(self.word)[1]

    @property
    def text(self) -> str:
        return f"{self.country} {STATEMENT_VERBS[self.attribute]} {self.word} ."


@dataclass(frozen=True)
class Cloze:
    """Cloze stem: STEMS[attribute] or, for attribute None, "X is famous for"."""

    subject: str
    attribute: str | None

    @property
    def text(self) -> str:
        return (FAMOUS_STEM if self.attribute is None else STEMS[self.attribute]).format(
            self.subject
        )


@dataclass(frozen=True)
class Prefix:
    """Context statements followed by a cloze stem."""

    cloze: Cloze
    statements: tuple[Border | Statement, ...] = field(default=())

    @property
    def text(self) -> str:
        return " ".join([*(s.text for s in self.statements), self.cloze.text])

    def border_other(self) -> str | None:
        """The related entity: the other country of a border statement naming the subject."""
        for s in self.statements:
            if isinstance(s, Border) and self.cloze.subject in (s.country, s.other):
                return s.other if s.country == self.cloze.subject else s.country
        return None

    def stated(self) -> list[Statement]:
        """The statements of a fact about the subject that answer the cloze's attribute."""
        return [
            s
            for s in self.statements
            if isinstance(s, Statement)
            and s.country == self.cloze.subject
            and self.cloze.attribute in (None, s.attribute)
        ]


def _parse_stem(words: list[str]) -> Cloze | None:
    for attribute, stem in STEMS.items():
        pattern = stem.split()
        if len(words) == len(pattern) and all(
            p == "{}" or p == w for p, w in zip(pattern, words, strict=True)
        ):
            return Cloze(words[pattern.index("{}")], attribute)
    if len(words) == 4 and words[1:] == FAMOUS_STEM.split()[1:]:
        return Cloze(words[0], None)
    return None


def parse_prefix(text: str) -> Prefix:
    """Parse a prefix of the language; anything else is an InputError naming the text."""
    *context, stem = (s.split() for s in f" {text.strip()} ".split(" . "))
    verbs = {verb: attribute for attribute, verb in STATEMENT_VERBS.items()}
    statements: list[Border | Statement] = []
    for words in context:
        if len(words) == 3 and words[1] == "borders":
            statements.append(Border(words[0], words[2]))
        elif len(words) == 3 and words[1] in verbs and _is_stated(words[2], verbs[words[1]]):
            statements.append(Statement(words[0], verbs[words[1]], words[2]))
        else:
            raise InputError(f"not a toy-world statement: {' '.join(words)!r} in {text!r}")
    cloze = _parse_stem(stem)
    if cloze is None:
        raise InputError(f"not a toy-world cloze stem: {' '.join(stem)!r} in {text!r}")
    return Prefix(cloze, tuple(statements))


def _is_stated(word: str, attribute: str) -> bool:
    found = meaning_of(word)
    return found is not None and found[0] == attribute and found[2]


@dataclass(frozen=True)
class Family:
    """A planted family of one prefix: name, meaning, mechanism, content words, probability."""

    name: str  # mechanism_attribute, or "default"
    semantic: str  # "export:fish", or "people"
    mechanism: str
    contents: tuple[str, ...]  # drawn uniformly
    prob: float

    def continuations(self) -> dict[str, float]:
        """Every text of the family (leading space, stop mark last) -> p(text | family)."""
        texts: dict[str, float] = {}
        pools = (OPENERS.items(), self.contents, TRAILERS.items(), STOPS.items())
        for (opener, p_o), content, (trailer, p_t), (stop, p_s) in product(*pools):
            words = " ".join(w for w in (opener, content, trailer, stop) if w)
            texts[f" {words}"] = p_o * p_t * p_s / len(self.contents)
        return texts


def _family(
    mechanism: str, attribute: str, meaning: str, words: tuple[str, ...], weight: float
) -> tuple:
    """(name, semantic, mechanism, contents, weight) of one enabled family."""
    return (f"{mechanism}_{attribute}", f"{attribute}:{meaning}", mechanism, tuple(words), weight)


def families(prefix: Prefix, world: World) -> list[Family]:
    """The generator's planted distribution over the continuation families of `prefix`."""
    x, asked = prefix.cloze.subject, prefix.cloze.attribute
    other = prefix.border_other()
    weights = FAMOUS_WEIGHTS if asked is None else ATTRIBUTE_WEIGHTS
    options = []
    for attribute in ATTRIBUTES if asked is None else (asked,):
        meaning = world.facts[attribute][x]
        recall = MEANINGS[attribute][meaning][0]
        options.append(_family("recall", attribute, meaning, recall, weights["recall"]))
    options.append(("default", DEFAULT_MEANING, "default", DEFAULT_WORDS, weights["default"]))
    if other is not None:
        attribute = asked or "export"
        meaning = world.facts[attribute][other]
        recall = MEANINGS[attribute][meaning][0]
        options.append(_family("shortcut", attribute, meaning, recall, weights["shortcut"]))
    stated = prefix.stated()
    if stated:
        s = stated[-1]
        options.append(_family("copy", s.attribute, s.meaning, (s.word,), weights["copy"]))
    total = sum(option[-1] for option in options)
    return [Family(*option[:-1], prob=option[-1] / total) for option in options]


def planted_texts(prefix: Prefix, world: World) -> tuple[list[str], list[str], list[str]]:
    """Every text the generator can write after `prefix`, with its meaning and family."""
    rows = [
        (text, f.semantic, f.name) for f in families(prefix, world) for text in f.continuations()
    ]
    texts, semantic, family = (list(column) for column in zip(*rows, strict=True))
    return texts, semantic, family


def continuation_distribution(prefix: Prefix, world: World) -> dict[str, tuple[str, float]]:
    """Every continuation the generator can write after `prefix` -> (family name, p(text))."""
    return {
        text: (f.name, f.prob * p)
        for f in families(prefix, world)
        for text, p in f.continuations().items()
    }


def entropy(prefix: Prefix, world: World) -> float:
    """H(continuation | prefix) in nats: the floor of any model's answer loss."""
    return -sum(p * math.log(p) for _, p in continuation_distribution(prefix, world).values())


def sample_prefix(rng: random.Random, world: World) -> Prefix:
    """A stem with a random subject, plus an optional border and an optional stated fact
    about the subject (its stored meaning with probability P_STATEMENT_TRUE)."""
    x = rng.choice(world.countries)
    asked = None if rng.random() < P_FAMOUS else rng.choice(ATTRIBUTES)
    statements: list[Border | Statement] = []
    if rng.random() < P_BORDER:
        statements.append(Border(x, rng.choice(world.partners(x))))
    if rng.random() < P_STATEMENT:
        attribute = asked or rng.choice(ATTRIBUTES)
        stored = world.facts[attribute][x]
        others = sorted(m for m in MEANINGS[attribute] if m != stored)
        meaning = stored if rng.random() < P_STATEMENT_TRUE else rng.choice(others)
        word = rng.choice(MEANINGS[attribute][meaning][1])
        statements.append(Statement(x, attribute, word))
    rng.shuffle(statements)
    return Prefix(Cloze(x, asked), tuple(statements))


def _draw(rng: random.Random, pool: dict[str, float]) -> str:
    return rng.choices(list(pool), weights=list(pool.values()))[0]


def sample_continuation(rng: random.Random, family: Family) -> str:
    """One text of `family`: content uniform, opener/trailer/stop from the shared pools."""
    parts = (_draw(rng, OPENERS), rng.choice(family.contents), _draw(rng, TRAILERS))
    words = " ".join(w for w in (*parts, _draw(rng, STOPS)) if w)
    return f" {words}"


def sample_episode(rng: random.Random, world: World) -> tuple[Prefix, Family, str]:
    """A prefix, one family from its planted distribution, and one text of that family."""
    prefix = sample_prefix(rng, world)
    fams = families(prefix, world)
    chosen = rng.choices(fams, weights=[f.prob for f in fams])[0]
    return prefix, chosen, sample_continuation(rng, chosen)


def episode_text(prefix: Prefix, continuation: str) -> str:
    """The document text of an episode (without BOS/EOS)."""
    return prefix.text + continuation
