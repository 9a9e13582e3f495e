"""Text relevance over Chinese and English: analysers and incrementally kept corpus statistics.

Two analysers are offered. ``jieba_terms`` (the default) is ``shared.text.tokens``: jieba's
dictionary segmenter for Chinese, lower-cased words for Latin script. ``ngram_terms`` uses
overlapping Chinese character bigrams instead. Both were measured on the labelled set in
``tests/unit/matching/data/labelled.json``: on its first 20 needs they ranked alike and jieba
gives fewer, more meaningful terms, so it is the default; on the 62 needs of 2026-12-07 bigrams
rank one need more first (``bench/results/matching_quality.md``).

Relevance is BM25 with the need as the query and the offer as the document, without length
normalisation (b = 0: titles and short descriptions vary little in length, and it lets the
index accumulate exact scores from its postings), divided by the need's score against itself
and capped at 1: 1 means the offer covers the need's terms as strongly as the need itself.

The idf of every term comes from a snapshot of the corpus statistics, refreshed once the items
added or removed since reach ``REFRESH_FRACTION`` of the corpus (every change while it is small).
Exact statistics after every change would make every idf, and every item's self-score, stale with
each new item: a stream recomputed them for each event, which was a third of its matching work.
The snapshot depends only on the sequence of ``add`` and ``remove`` calls, so replays agree.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from sys import intern

from shared.caches import TEXT_CACHE_ENTRIES
from shared.events.listing import ItemData
from shared.party_types import Side
from shared.glossary import latin_words, matches_in_chinese, matches_in_english
from shared.lexicon import chinese_terms, english_terms
from shared.text import GENERIC_WORDS, STOP_WORDS, has_whole_word, tokens, words

Analyser = Callable[[str], list[str]]

K1 = 1.2  # BM25 term-frequency saturation
REFRESH_FRACTION = 0.01  # of the corpus changed before its statistics are taken again

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_LATIN_WORD = re.compile(r"[a-z0-9][a-z0-9\-\+\.]*[a-z0-9\+]|[a-z0-9]")


@lru_cache(maxsize=TEXT_CACHE_ENTRIES)
def jieba_terms(text: str) -> list[str]:
    return tokens(text)


@lru_cache(maxsize=TEXT_CACHE_ENTRIES)
def ngram_terms(text: str) -> list[str]:
    """Chinese as overlapping character bigrams (a lone character stays a unigram), Latin as words."""
    lowered = text.lower()
    terms: list[str] = []
    for run in _CJK_RUN.findall(lowered):
        terms.extend(run[i:i + 2] for i in range(max(len(run) - 1, 1)))
    latin = _CJK_RUN.sub(" ", lowered)
    terms.extend(w for w in _LATIN_WORD.findall(latin) if w not in STOP_WORDS and len(w) > 1)
    return [t for t in terms if t not in STOP_WORDS]


ANALYSERS: dict[str, Analyser] = {"jieba": jieba_terms, "ngram": ngram_terms}


def warm_up_text_analysis() -> None:
    """Load the segmenter's dictionary and the bilingual lexicon now rather than with the first item."""
    tokens("预热 warm-up")
    english_terms("预热")


def item_texts(item: ItemData) -> Iterable[str]:
    """Every text of an item a person wrote: title, description and keywords, in zh and en."""
    for localized in (item.title, item.description):
        if localized is not None:
            yield from (t for t in (localized.zh, localized.en) if t)
    yield from item.keywords


MAX_SHOWN_TERMS = 5  # shared terms an explanation names, per language


def is_chinese(term: str) -> bool:
    return bool(_CJK_RUN.search(term))


@lru_cache(maxsize=TEXT_CACHE_ENTRIES)
def _words(text: str) -> tuple[str, ...]:
    return tuple(words(text))


def display_terms(item: ItemData) -> tuple[str, ...]:
    """The words a person would name an item by: its keywords as written, then the whole words
    of its titles (zh and en), each once."""
    return _display_terms(item.title.zh, item.title.en, tuple(item.keywords))


@lru_cache(maxsize=TEXT_CACHE_ENTRIES)
def _display_terms(zh: str | None, en: str | None, keywords: tuple[str, ...]) -> tuple[str, ...]:
    found = [k.strip() for k in keywords if len(k.strip()) > 1 and k.strip().lower() not in GENERIC_WORDS]
    for title in (zh, en):
        if title:
            found.extend(_words(title))
    return tuple(dict.fromkeys(found))


_NOT_LATIN = re.compile(r"[^a-z0-9.]+")
_PLURAL = re.compile(r"(?<=[a-z]{3})s\b")


def _latin(text: str) -> str:
    """Latin words of a lower-cased text between single spaces (hyphens and Chinese separate)."""
    return " " + " ".join(w.strip(".") for w in _NOT_LATIN.split(text) if w.strip(".")) + " "


@lru_cache(maxsize=TEXT_CACHE_ENTRIES)
def _haystacks(text: str) -> tuple[str, str]:
    """The lower-cased text, and its Latin words: what terms are looked for in."""
    lowered = text.lower()
    return lowered, _latin(lowered)


def _occurs(term: str, haystacks: tuple[str, str]) -> bool:
    """A Chinese term anywhere in the text; a Latin term as whole words."""
    lowered = term.lower()
    if is_chinese(term):
        return lowered in haystacks[0]
    return _latin(lowered) in haystacks[1]


def _within(short: str, long: str) -> bool:
    """One shown term says no more than another (频段 within 全频段, antenna within antennas)."""
    a, b = short.lower(), long.lower()
    if a == b:
        return False
    if is_chinese(short):
        return a in b
    return _latin(_PLURAL.sub("", a)) in _latin(_PLURAL.sub("", b))


def _written_in(item: ItemData, lang: str) -> bool:
    return bool(getattr(item.title, lang) or (item.description is not None and getattr(item.description, lang)))


def bridged(item: ItemData, counts: Counter[str], analyse: Analyser = jieba_terms,
            glossary: bool = True) -> Counter[str]:
    """Terms of the other language for an offer written in one language only, added at indexing
    time, so an English need finds a Chinese offer and a Chinese need an English one: first the
    field glossary's (``shared.glossary``: the entries of the offer's top-level fields found in
    its text), then CC-CEDICT's (``shared.lexicon``) for the words no glossary entry covers.
    A glossary term counts once, analysed as the other language's text would be.
    Offers only: a need is the query, and terms it does not state would dilute its relevance
    (normalised by its own terms) against every offer in its own language."""
    tops = frozenset(code.split(".")[0] for code in item.fields)
    terms: set[str] = set()  # from the glossary
    extra: Counter[str] = Counter()  # from CC-CEDICT
    if not _written_in(item, "en"):
        entries = matches_in_chinese(" ".join(item_texts(item)), tops) if glossary else []
        for entry in entries:
            terms.update(t for english in entry.en for t in analyse(english))
        covered_zh = [zh for entry in entries for zh in entry.zh]
        for term in counts:
            if is_chinese(term) and not any(term in zh or zh in term for zh in covered_zh):
                extra.update(english_terms(term))
    elif not _written_in(item, "zh"):
        for text in item_texts(item):
            raw, words = _LATIN_WORD.findall(text.lower()), latin_words(text)
            found, covered = matches_in_english(words, tops) if glossary else ([], set())
            for entry in found:
                terms.update(t for chinese in entry.zh for t in analyse(chinese))
            start = 0  # CC-CEDICT for each run of words no glossary entry covers
            for end in sorted(covered) + [len(words)]:
                if end > start:
                    extra.update(chinese_terms(raw[start:end]))
                start = end + 1
    return extra + Counter(terms)


def _written(item: ItemData, lang: str) -> list[str]:
    """An item's keywords (either language), then its title and description in ``lang``."""
    texts = [*item.keywords, getattr(item.title, lang), getattr(item.description, lang) if item.description else None]
    return [t for t in texts if t]


@lru_cache(maxsize=4096)
def _english_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z0-9])" + r"[\s\-]+".join(re.escape(w) + "s?" for w in words)
                      + r"(?![A-Za-z0-9])", re.IGNORECASE)


def _english_as_written(words: tuple[str, ...], texts: Iterable[str]) -> str | None:
    """A glossary English term as the first of these texts writes it (LNP, not lnp)."""
    pattern = _english_pattern(words)
    for text in texts:
        found = pattern.search(text)
        if found is not None:
            return found.group()
    return None


def translated_terms(item: ItemData, other: ItemData) -> list[tuple[str, str]]:
    """(Chinese, English) as the items write them, of the glossary entries whose term in one
    language is among ``item``'s own words (title, keywords) and whose term in the other is in
    the text of ``other``, written in that other language only: what a Chinese need and an
    English offer share (振动 / vibration), for the explanation's shared terms."""
    tops = frozenset(code.split(".")[0] for code in (*item.fields, *other.fields))
    keywords = list(item.keywords)
    found: list[tuple[str, str]] = []
    if not _written_in(other, "zh") and _written_in(item, "zh"):
        own = " ".join([item.title.zh or "", *keywords])
        other_texts = _written(other, "en")
        for entry in matches_in_chinese(own, tops):
            chinese = next((z for z in entry.zh if has_whole_word(own, z)), None)
            english = next((e for w in entry.en_words if (e := _english_as_written(w, other_texts))), None)
            if chinese is not None and english is not None:
                found.append((chinese, english))
    elif not _written_in(other, "en") and _written_in(item, "en"):
        own_texts = [*keywords, item.title.en or ""]
        other_text = " ".join(item_texts(other))
        for entry in matches_in_english(latin_words(" ".join(own_texts)), tops)[0]:
            chinese = next((z for z in entry.zh if has_whole_word(other_text, z)), None)
            english = next((e for w in entry.en_words if (e := _english_as_written(w, own_texts))), None)
            if chinese is not None and english is not None:
                found.append((chinese, english))
    return [(zh, en) for zh, en in found if zh not in GENERIC_WORDS and en.lower() not in GENERIC_WORDS]


def in_reader_language(shared: list[str], offer: ItemData, need: ItemData) -> list[str]:
    """Shared terms of one script put in the other, where an item has text in that language and
    the glossary has the term: the Chinese word an item's Chinese text uses for a shared English
    term (funding → 资助), the English words an item's English text uses for a shared Chinese one."""
    items = (offer, need)
    tops = frozenset(code.split(".")[0] for i in items for code in i.fields)
    chinese = [" ".join(_written(i, "zh")) for i in items]
    english = [t for i in items for t in _written(i, "en")]
    found: list[str] = []
    for term in shared:
        if is_chinese(term):
            for entry in matches_in_chinese(term, tops):
                if term in entry.zh:
                    found.extend(e for w in entry.en_words if (e := _english_as_written(w, english)))
        else:
            for entry in matches_in_english(latin_words(term), tops)[0]:
                if tuple(latin_words(term)) in entry.en_words:
                    found.extend(z for z in entry.zh if any(has_whole_word(text, z) for text in chinese))
    return [t for t in found if t.lower() not in GENERIC_WORDS]


def idf_of(df: int, size: int) -> float:
    """BM25's idf of a term found in ``df`` of ``size`` documents, never negative."""
    return math.log(1 + (size - df + 0.5) / (df + 0.5))


def saturation(tf: int) -> float:
    """BM25's term-frequency part with b = 0: 1 for one occurrence, approaching K1 + 1."""
    return tf * (K1 + 1) / (tf + K1)


class TextModel:
    """Term counts of every indexed item and the document frequencies of the corpus.

    Kept incrementally: ``add`` (which replaces an earlier version of the same item) and
    ``remove``. The same sequence of calls always gives the same statistics, so replays agree.
    """

    def __init__(self, analyser: str = "jieba", bridge: bool = True, glossary: bool = True):
        self.analyser_name = analyser
        self.bridge = bridge
        self.glossary = glossary  # the field glossary before CC-CEDICT (False: CC-CEDICT alone)
        self._analyse = ANALYSERS[analyser]
        self._terms: dict[str, Counter[str]] = {}
        self._df: Counter[str] = Counter()
        # the statistics idf is computed from: document frequencies and corpus size at the last refresh
        self._snapshot_df: dict[str, int] = {}
        self._snapshot_size = 0
        self._changes = 0  # adds and removes since the last refresh
        self._idf: dict[str, float] = {}  # cleared at every refresh
        self._self_scores: dict[str, float] = {}  # by indexed item id; cleared likewise
        self.generation = 0  # counts the refreshes: what was derived from idf holds within one

    def __len__(self) -> int:
        return len(self._terms)

    def analyse(self, item: ItemData) -> Counter[str]:
        counts: Counter[str] = Counter()
        for text in item_texts(item):
            counts.update(self._analyse(text))
        if self.bridge and item.side is Side.OFFER:
            counts.update(bridged(item, counts, self._analyse, self.glossary))
        # one copy of each term, however many items' counts (and postings, and bit sets) name it
        return Counter({intern(term): tf for term, tf in counts.items()})

    def add(self, item: ItemData) -> Counter[str]:
        self.remove(item)
        counts = self.analyse(item)
        self._terms[item.id] = counts
        self._df.update(counts.keys())
        self._corpus_changed(item.id)
        return counts

    def remove(self, item: ItemData | str) -> Counter[str] | None:
        item_id = item if isinstance(item, str) else item.id
        counts = self._terms.pop(item_id, None)
        if counts is not None:
            self._df.subtract(counts.keys())
            for term in counts:
                if self._df[term] <= 0:
                    del self._df[term]
            self._corpus_changed(item_id)
        return counts

    def _corpus_changed(self, item_id: str) -> None:
        self._self_scores.pop(item_id, None)  # its terms changed
        self._changes += 1
        if self._changes >= REFRESH_FRACTION * len(self._terms):
            self._snapshot_df = dict(self._df)
            self._snapshot_size = len(self._terms)
            self._changes = 0
            self._idf.clear()
            self._self_scores.clear()
            self.generation += 1

    def terms(self, item: ItemData) -> Counter[str]:
        """The item's term counts: from the corpus when indexed, else analysed now."""
        return self._terms.get(item.id) or self.analyse(item)

    def idf(self, term: str) -> float:
        """BM25's idf from the statistics snapshot, never negative; a term it has not seen counts as rare."""
        idf = self._idf.get(term)
        if idf is None:
            idf = self._idf[term] = idf_of(self._snapshot_df.get(term, 0), self._snapshot_size)
        return idf

    def snapshot(self) -> tuple[Mapping[str, int], int]:
        """The statistics idf is computed from: document frequencies and corpus size (never
        changed in place: a refresh takes a new snapshot)."""
        return self._snapshot_df, self._snapshot_size

    def self_score(self, counts: Counter[str]) -> float:
        return sum(self.idf(t) * saturation(tf) for t, tf in counts.items())

    def item_self_score(self, item: ItemData) -> float:
        """The item's BM25 score against itself: the norm of its relevance as a query."""
        if item.id not in self._terms:
            return self.self_score(self.analyse(item))
        score = self._self_scores.get(item.id)
        if score is None:
            score = self._self_scores[item.id] = self.self_score(self._terms[item.id])
        return score

    def relevance(self, offer: ItemData, need: ItemData) -> float:
        """BM25 relevance of the offer to the need in [0, 1]."""
        query, document = self.terms(need), self.terms(offer)
        matched = sum(self.idf(t) * saturation(document[t]) for t in query if t in document)
        return min(1.0, matched / self.item_self_score(need)) if matched else 0.0

    def shared_terms(self, offer: ItemData, need: ItemData) -> tuple[list[str], list[str]]:
        """(Chinese, Latin-script) words both items use, for a person: keywords and whole title
        words of one item found in the other's text, and glossary terms of one item's title or
        keywords whose translation the other item, written in the other language only, uses
        (振动 and vibration: ``translated_terms``); none contained in another shown (全频段,
        not also 频段); rarest first, at most ``MAX_SHOWN_TERMS`` each."""
        texts = {i.id: _haystacks(" ".join(item_texts(i))) for i in (offer, need)}
        found: dict[str, str] = {}  # lower-cased -> as written
        for item, other in ((need, offer), (offer, need)):
            for term in display_terms(item):
                if term.lower() not in found and _occurs(term, texts[other.id]):
                    found[term.lower()] = term
            if self.bridge and self.glossary:
                for pair in translated_terms(item, other):
                    for term in pair:
                        found.setdefault(term.lower(), term)
        if self.bridge and self.glossary:
            for term in in_reader_language(list(found.values()), offer, need):
                found.setdefault(term.lower(), term)
        shown = [t for t in found.values() if not any(_within(t, longer) for longer in found.values())]
        shown.sort(key=lambda t: (-self._rarity(t), -len(t), t))
        return ([t for t in shown if is_chinese(t)][:MAX_SHOWN_TERMS],
                [t for t in shown if not is_chinese(t)][:MAX_SHOWN_TERMS])

    def _rarity(self, term: str) -> float:
        """The idf of the term's rarest index term (a phrase is as telling as its rarest word)."""
        return max((self.idf(t) for t in self._analyse(term)), default=0.0)
