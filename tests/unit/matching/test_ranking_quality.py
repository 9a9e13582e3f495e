"""Ranking quality on the labelled set (zh + en): the expected partner of each need in the top 3.

The jieba-vs-character-bigram comparison is printed by ``bench.matching_quality`` and kept in
``bench/results/matching_quality.md``; here both analysers must clear the bar and the default
must stay within one need of the alternative.
"""

import pytest

from services.matching.domain.scoring import TEXT_FLOOR, Rule, broken_rule
from services.matching.domain.text import ANALYSERS, TextModel
from tests.unit.matching.factories import NOW
from tests.unit.matching.labelled import (
    cross_lingual, engine_quality, expected_consortia, forbidden, load, ranking_quality, text_only_quality,
)


def test_the_labelled_set_is_bilingual_and_big_enough():
    offers, needs, expected = load()
    assert len(needs) >= 60
    assert set(expected.values()) <= {o.id for o in offers}
    texts = [t for i in offers + needs for t in (i.title.zh, i.title.en) if t]
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in texts)
    assert any(t.isascii() for t in texts)


@pytest.mark.parametrize("analyser", sorted(ANALYSERS))
def test_expected_partner_in_top_three_for_at_least_80_percent(analyser):
    quality = ranking_quality(analyser)
    assert quality.top3 >= 0.8, quality
    assert quality.mrr >= 0.7, quality


@pytest.mark.parametrize("analyser", sorted(ANALYSERS))
def test_text_alone_already_ranks_the_expected_partner_high(analyser):
    assert text_only_quality(analyser).top3 >= 0.8


def test_the_default_analyser_is_within_one_need_of_the_alternative():
    """On the 62-need set (2026-12-07) character bigrams rank one need more first than jieba
    (full score top-1 60/62 vs 59/62; text alone MRR 0.862 vs 0.850, bench/results/matching_quality.md);
    jieba stays the default (not changed this late), and must not fall further behind."""
    default = TextModel().analyser_name
    other = next(a for a in ANALYSERS if a != default)
    n = ranking_quality(default).needs
    assert ranking_quality(default).top1 >= ranking_quality(other).top1 - 1 / n
    assert text_only_quality(default).mrr >= text_only_quality(other).mrr - 0.015


def test_the_labelled_set_has_distractors_of_every_rule_kind_and_cross_lingual_pairs():
    """Each forbidden pair breaks a hard rule (the evidence rule: no shared sub-field and text
    relevance below the floor), and every kind of rule is there."""
    offers, needs, expected = load()
    by_id = {i.id: i for i in offers + needs}
    text = TextModel()
    for item in offers + needs:
        text.add(item)
    broken = set()
    for need_id, offer_ids in forbidden().items():
        for offer_id in offer_ids:
            offer, need = by_id[offer_id], by_id[need_id]
            rule = broken_rule(offer, need, NOW)
            if rule is None and set(offer.fields).isdisjoint(need.fields) \
                    and text.relevance(offer, need) < TEXT_FLOOR:
                rule = Rule.EVIDENCE
            assert rule is not None, (need_id, offer_id)
            broken.add(rule)
    assert broken == {Rule.TRL_FLOOR, Rule.TRANSFER_MODE, Rule.AMOUNT_RANGES, Rule.REQUIRED_REGION, Rule.EVIDENCE}
    directions = cross_lingual(offers, needs, expected)
    assert len(directions["zh→en"]) >= 10 and len(directions["en→zh"]) >= 10


def test_the_labelled_teams_name_support_offers_of_the_right_kind():
    offers, _, expected = load()
    kinds = {o.id: o.kind.value for o in offers}
    teams = expected_consortia()
    assert len(teams) >= 8 and set(teams) <= set(expected)
    assert all(kinds[offer_id] == role for roles in teams.values() for role, offer_id in roles.items() if offer_id)


def test_through_the_engine_as_the_worker_runs_it_no_forbidden_pair_and_the_reached_figures():
    """Figures reached on 2026-12-07 with 62 needs (bench/results/matching_quality.md): top-1 62/62,
    top-3 1.00, MRR 1.00, cross-lingual top-1 zh→en 11/11 and en→zh 11/11 (with the field
    glossary; CC-CEDICT alone: 59/62 and zh→en 8/11), consortium roles 24/24 (23/24 before the
    ticket was weighed against the technology's stage)."""
    quality = engine_quality()
    assert quality.forbidden_matched == 0
    assert quality.top1 >= 1.0 and quality.top3 >= 1.0 and quality.mrr >= 1.0, quality
    assert quality.zh_en_top1 >= 1.0 and quality.en_zh_top1 >= 1.0, quality
    assert quality.consortium_roles >= 1.0, quality


def test_the_bilingual_bridge_lifts_cross_lingual_needs_and_the_glossary_lifts_them_further():
    """Cross-lingual pairs are found on shared terms: the mean text relevance of each direction's
    needs to their expected offers (2026-12-07: zh→en 0.10 with CC-CEDICT alone, 0.38 with the
    glossary; en→zh 0.32 and 0.41)."""
    off, cc_cedict, glossary = engine_quality(bridge=False), engine_quality(glossary=False), engine_quality()
    assert off.cross_lingual_top1 < cc_cedict.cross_lingual_top1 < glossary.cross_lingual_top1
    assert glossary.zh_en_text >= 0.35 and glossary.en_zh_text >= 0.4, glossary
    assert glossary.zh_en_text > cc_cedict.zh_en_text and glossary.en_zh_text > cc_cedict.en_zh_text
