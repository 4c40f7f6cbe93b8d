from __future__ import annotations

import pytest

from intents.lexicon import CUE_KINDS, load_lexicon, parse_lexicon


def test_shipped_lexicon_has_the_common_aliases() -> None:
    lexicon = load_lexicon()
    assert lexicon.canon("社保") == "社会保险"
    assert lexicon.canon("个税") == "个人所得税"
    assert lexicon.canon("稳岗补贴") == "稳岗返还"
    assert lexicon.canon("失业险") == "失业保险"
    assert lexicon.canon("留抵") == "留抵退税"
    assert lexicon.canon("高企") == "高新技术企业"
    assert lexicon.canon("没有别名的词") == "没有别名的词"
    assert all(lexicon.cues[kind] for kind in CUE_KINDS)
    assert lexicon.fallback_appeal_text


def test_terms_are_normalised() -> None:
    lexicon = parse_lexicon({"synonyms": [["增值稅", "ＶＡＴ"]], "stopwords": ["的"]})
    assert lexicon.canon("vat") == "增值税"
    assert "的" in lexicon.stopwords


def test_bad_lexicon_is_refused() -> None:
    with pytest.raises(ValueError, match="synonyms"):
        parse_lexicon({"synonyms": ["not a group"]})
