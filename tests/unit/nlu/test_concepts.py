"""The concept block of bot.nlu.linear: synonyms of the domain become one shared feature."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.nlu.concepts import CONCEPTS, concept_features
from bot.nlu.linear import MODEL_FILE, Example, TextClassifier, TextModelConfig, normalise

# Two topics whose training phrases share no wording for the deciding concept: only the
# lexicon knows that 不署名 and 匿名, or 几天 and 多久, mean the same thing.
TRAIN = {
    "faq/anonymous": ["可以匿名信访吗", "匿名反映行不行", "匿名举报有人管吗", "能匿名吗"],
    "faq/deadline": ["信访多久答复", "办理要多久", "多久能办完", "受理要多久"],
}


def _examples() -> tuple[list[Example], list[str]]:
    examples = [Example(t) for texts in TRAIN.values() for t in texts]
    labels = [k for k, texts in TRAIN.items() for _ in texts]
    return examples, labels


def test_every_entry_is_already_in_normalised_form() -> None:
    for name, words in CONCEPTS.items():
        assert words, name
        for word in words:
            assert word == normalise(word) and word.strip(), (name, word)


def test_features_name_concepts_and_their_pairs() -> None:
    table = {"anonymous": ("匿名", "不署名"), "petition": ("信访",), "fee": ("收费",)}
    assert concept_features("不署名的信访", table) == ["c:anonymous", "c:petition", "p:anonymous+petition"]
    assert concept_features("不署名的信访", table, pairs=False) == ["c:anonymous", "c:petition"]
    assert concept_features("你好", table) == []


def test_lexicon_links_words_never_seen_in_training() -> None:
    examples, labels = _examples()
    probe = [Example("不署名写信可以吗"), Example("几天能有结果")]
    plain = TextClassifier(TextModelConfig(c=30.0, char_max=2, word_max=0)).fit(examples, labels)
    with_concepts = TextClassifier(
        TextModelConfig(c=30.0, char_max=2, word_max=0, concept_weight=1.0)
    ).fit(examples, labels)
    assert [with_concepts.labels[i] for i in with_concepts.predict_proba(probe).argmax(axis=1)] == [
        "faq/anonymous", "faq/deadline",
    ]
    # without the lexicon the model is less sure of both: the concept block is what helps
    gain = with_concepts.predict_proba(probe).max(axis=1) - plain.predict_proba(probe).max(axis=1)
    assert (gain > 0).all()


def test_concept_block_is_off_by_default() -> None:
    examples, labels = _examples()
    model = TextClassifier(TextModelConfig(word_max=0)).fit(examples, labels)
    assert model.concepts == {} and not model.concept_block.vocabulary
    assert model.features([Example("匿名")]).shape[1] == len(model.char_block.vocabulary)


def test_model_keeps_the_table_it_was_trained_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    examples, labels = _examples()
    model = TextClassifier(TextModelConfig(word_max=0, concept_weight=0.5)).fit(examples, labels)
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / MODEL_FILE).read_text(encoding="utf-8"))
    assert meta["concepts"]["anonymous"] == list(CONCEPTS["anonymous"])
    # a later edit of the lexicon must not change what a saved model computes
    monkeypatch.setitem(CONCEPTS, "anonymous", ("完全不同的词",))
    loaded = TextClassifier.load(tmp_path / "m")
    probe = [Example("不署名可以吗"), Example("几天办完")]
    assert np.allclose(loaded.predict_proba(probe), model.predict_proba(probe))
    assert loaded.concepts["anonymous"] == tuple(meta["concepts"]["anonymous"])


def test_models_saved_without_a_concept_block_still_load(tmp_path: Path) -> None:
    examples, labels = _examples()
    model = TextClassifier(TextModelConfig(word_max=0)).fit(examples, labels)
    model.save(tmp_path / "m")
    # an archive from before the concept block: no concept keys at all
    meta_path = tmp_path / "m" / MODEL_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    for key in ("concepts", "concept_vocabulary"):
        meta.pop(key)
    meta["config"].pop("concept_weight")
    meta["config"].pop("concept_pairs")
    meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    arrays = dict(np.load(tmp_path / "m" / "arrays.npz"))
    arrays.pop("concept_idf")
    np.savez_compressed(tmp_path / "m" / "arrays.npz", **arrays)
    loaded = TextClassifier.load(tmp_path / "m")
    probe = [Example("匿名可以吗")]
    assert np.allclose(loaded.predict_proba(probe), model.predict_proba(probe))
