"""The field glossary (shared/glossary.py) and its precedence over CC-CEDICT in the bridge."""

from collections import Counter

from shared.glossary import GLOSSARY, latin_words, matches_in_chinese, matches_in_english
from shared.taxonomy import FIELDS

from services.matching.domain.text import bridged, jieba_terms
from tests.unit.matching.factories import offer as make_offer


def test_every_entry_has_chinese_and_english_terms_and_every_section_is_a_top_level_field():
    assert set(GLOSSARY) - {"*"} <= {code for code, f in FIELDS.items() if f.parent is None}
    for entries in GLOSSARY.values():
        for entry in entries:
            assert entry.zh and all(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in entry.zh), entry
            assert entry.en and all(words and all(w.isascii() for w in words) for words in entry.en_words), entry


def test_english_terms_match_as_whole_words_plurals_included_and_say_which_words_they_cover():
    words = latin_words("Laser-based mass transfer of Micro-LED chips onto display backplanes")
    found, covered = matches_in_english(words, frozenset({"EIT"}))
    assert {e.zh[0] for e in found} == {"巨量转移", "芯片", "背板"}
    assert [words[i] for i in sorted(covered)] == ["mass", "transfer", "chip", "backplane"]
    # a field's senses only for items of that field: mass transfer is a display term
    assert {e.zh[0] for e in matches_in_english(words, frozenset({"BIO"}))[0]} == {"芯片"}


def test_chinese_terms_match_anywhere_in_the_text():
    found = matches_in_chinese("石化泵机群振动监测与预测性维护", frozenset({"IIOT"}))
    assert {e.en[0] for e in found} >= {"vibration", "predictive maintenance", "pump", "monitoring"}


def _offer(zh: str | None, en: str | None, field: str):
    return make_offer("o1", zh=zh, en=en, fields=[field])


def test_the_glossary_sense_replaces_cc_cedicts_first_gloss_for_the_words_it_covers():
    offer = _offer(None, "Micro-LED mass transfer for predictive maintenance", "EIT.DSP")
    with_glossary = bridged(offer, Counter(), jieba_terms)
    cc_cedict_alone = bridged(offer, Counter(), jieba_terms, glossary=False)
    assert "群众" in cc_cedict_alone and "群众" not in with_glossary  # "mass" as the masses
    assert {"巨量", "转移", "预测", "维护"} <= set(with_glossary)


def test_a_chinese_offer_gets_the_glossarys_english_terms():
    offer = _offer("旋转机械振动分析与故障诊断", None, "IIOT.PLAT")
    terms = bridged(offer, Counter(jieba_terms("旋转机械振动分析与故障诊断")), jieba_terms)
    assert {"rotating", "machinery", "vibration", "fault", "diagnosis"} <= set(terms)
    assert "oscillation" not in terms  # CC-CEDICT's gloss of 振动, left out for a covered word
