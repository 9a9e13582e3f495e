"""Tokenising Chinese and English text the same way everywhere (search in the listing service,
text relevance in matching): jieba's dictionary segmenter for Chinese, lower-cased words for
Latin script, stop words dropped."""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import jieba

from shared.caches import TEXT_CACHE_ENTRIES

jieba.setLogLevel(logging.WARNING)

_LATIN_WORD = re.compile(r"[a-z0-9][a-z0-9\-\+\.]*[a-z0-9\+]|[a-z0-9]")
_CJK = re.compile(r"[\u3400-\u9fff]")

STOP_WORDS = frozenset(
    "a an and are as at be by for from has have in into is it its of on or our that the their this to we "
    "with based using use via new high 的 了 和 与 及 等 在 对 为 是 将 把 被 用 于 以 及其 一种 一个 我们 进行 "
    "基于 相关 提供 需要 寻求 技术 项目".split()
)


@lru_cache(maxsize=1)
def _initialised() -> bool:
    jieba.initialize()
    return True


def tokens(text: str) -> list[str]:
    """Index terms of a text, in order, duplicates kept (term frequency matters for BM25)."""
    _initialised()
    lowered = text.lower()
    terms: list[str] = []
    for piece in jieba.cut_for_search(lowered) if _CJK.search(lowered) else [lowered]:
        piece = piece.strip()
        if not piece:
            continue
        if _CJK.search(piece):
            if piece not in STOP_WORDS and len(piece) > 1:
                terms.append(piece)
        else:
            terms.extend(w for w in _LATIN_WORD.findall(piece) if w not in STOP_WORDS and len(w) > 1)
    return terms


# Words too general to tell a person why two items belong together (they stay index terms).
GENERIC_WORDS = frozenset(
    "服务 科技 成果 项目 支持 对接 系统 设备 平台 方案 产品 应用 研发 开发 合作 企业 公司 "
    "project projects technology technologies service services system systems solution solutions "
    "platform product products development information support".split()
)
_LATIN_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-\+\.]*[A-Za-z0-9\+]|[A-Za-z0-9]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")


def words(text: str) -> list[str]:
    """The whole words of a text as a person reads them, for display: jieba's precise mode
    without guessing new words (no search-mode fragments such as 动机 out of 移动机器人, no
    made-up words such as 焊装用) for Chinese, Latin words in their own case with their hyphens
    (start-up); stop words, generic words, single Chinese characters and bare numbers dropped."""
    _initialised()
    found: list[tuple[int, str]] = []
    for run in _CJK_RUN.finditer(text):
        offset = run.start()
        for piece in jieba.cut(run.group(), HMM=False):
            if len(piece) > 1:
                found.append((offset, piece))
            offset += len(piece)
    for match in _LATIN_RUN.finditer(_CJK_RUN.sub(" ", text)):
        word = match.group()
        if len(word) > 1 and not word.replace(".", "").isdigit():
            found.append((match.start(), word))
    found.sort()
    return [w for _, w in found if w.lower() not in STOP_WORDS and w.lower() not in GENERIC_WORDS]


@lru_cache(maxsize=TEXT_CACHE_ENTRIES)
def _boundaries(text: str) -> tuple[frozenset[int], frozenset[int]]:
    """Where jieba's precise mode (no new-word guessing) starts and ends the words of a text."""
    _initialised()
    spans = list(jieba.tokenize(text, HMM=False))
    return frozenset(start for _, start, _ in spans), frozenset(end for _, _, end in spans)


def has_whole_word(text: str, term: str) -> bool:
    """Whether a Chinese term is in the text as one or more whole words (振动 in 振动分析, not 激光
    in 激光雷达 nor 动机 in 移动机器人)."""
    starts, ends = _boundaries(text)
    at = text.find(term)
    while at >= 0:
        if at in starts and at + len(term) in ends:
            return True
        at = text.find(term, at + 1)
    return False


def term_set(*texts: str | None) -> set[str]:
    return {t for text in texts if text for t in tokens(text)}
