"""Dense retrieval in the product: every article gets its e5 vector from the store's queue,
readers follow the vectors' changes, and search ranks by meaning where words fail."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import FEVER, TEETH, run_cli

from langzhong.config import Settings
from langzhong.core import Article, Section
from langzhong.embed.base import QUESTION_CHARS
from langzhong.index.dense import DenseIndex
from langzhong.index.embedding import Embedding, article_text
from langzhong.search.dense import DenseSearch
from langzhong.search.rerank import join_nearest
from langzhong.service import Service
from langzhong.store import ArticleStore
from langzhong.store.vectors import VectorTable

DIM = 8


class CountingEmbedder:
    """A deterministic stand-in with the Embedder surface: a text's vector comes from its hash,
    and every embedded text is counted."""

    name, dim = "counting", DIM

    def __init__(self, model_hash: str = "weights-a") -> None:
        self.model_hash = model_hash
        self.embedded: list[str] = []

    def _vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "little")
        vector = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
        return vector / np.linalg.norm(vector)

    def embed_queries(self, texts):
        return np.stack([self._vector(t) for t in texts])

    def embed_passages(self, texts):
        self.embedded.extend(texts)
        return np.stack([self._vector(t) for t in texts])


def qa(number: int, answer: str | None = None) -> Article:
    return Article(
        id=f"q{number}",
        kind="qa",
        title=f"问题{number}怎么办",
        lead=f"描述{number}",
        sections=(Section(heading="回答", level=1, text=answer or f"回答内容{number}"),),
    )


@pytest.fixture
def service(tmp_path: Path, monkeypatch) -> Service:
    monkeypatch.setenv("LANGZHONG_DENSE", "off")  # the stand-in model is wired in by hand
    opened = Service(Settings.load(tmp_path / "home"))
    yield opened
    opened.close()


def embedding_of(store: ArticleStore, embedder: CountingEmbedder) -> Embedding:
    return Embedding(store, VectorTable(store), embedder, threads=2)


def test_the_vector_text_is_a_pages_text_or_an_answer_without_headings():
    assert article_text(qa(1, "多喝水\n  休息")) == "多喝水 休息"
    page = Article(
        id="p",
        title="腰痛",
        lead="导语",
        sections=(Section(heading="一、原因", level=1, text="久坐"),),
    )
    assert article_text(page) == "腰痛 导语 久坐"


def test_every_article_gets_a_vector_and_a_reader_sees_them(service):
    service.writing.write_articles([qa(i) for i in range(150)])
    embedder = CountingEmbedder()
    table = VectorTable(service.store)
    assert embedding_of(service.store, embedder).catch_up() == 150
    assert VectorTable.counts(service.store) == {"with_vector": 150, "pending": 0}
    index = DenseIndex(table, DIM)
    index.refresh()
    assert len(index) == 150
    rowid = service.store.lookup("q7").rowid
    question = embedder._vector(article_text(qa(7)))
    assert index.nearest(question, 1)[0][0] == rowid
    assert index.similarities(question, [rowid, 10_000])[0] == pytest.approx(1.0, abs=0.02)
    assert np.isnan(index.similarities(question, [10_000])[0])


def two_embedded(service: Service) -> tuple[CountingEmbedder, Embedding, DenseIndex]:
    """Two articles with their vectors, and a reader that has taken them in."""
    service.writing.write_articles([qa(1), qa(2)])
    embedder = CountingEmbedder()
    embedding = embedding_of(service.store, embedder)
    embedding.catch_up()
    index = DenseIndex(VectorTable(service.store), DIM)
    index.refresh()
    return embedder, embedding, index


def test_a_changed_article_is_embedded_again_and_readers_take_only_the_change(service):
    embedder, embedding, index = two_embedded(service)
    service.writing.write_articles([qa(2, "完全不同的新回答")])
    assert VectorTable.counts(service.store)["pending"] == 1
    embedder.embedded.clear()
    assert embedding.catch_up() == 1
    assert embedder.embedded == [article_text(qa(2, "完全不同的新回答"))]
    _, written, _ = VectorTable(service.store).changed_since(index._seq)
    assert len(written) == 1  # a reader loads the one changed vector, not the whole table
    index.refresh()
    fresh = embedder._vector(article_text(qa(2, "完全不同的新回答")))
    assert index.nearest(fresh, 1)[0][0] == service.store.lookup("q2").rowid


def test_a_deleted_article_leaves_the_dense_index(service):
    embedder, embedding, index = two_embedded(service)
    gone = service.store.lookup("q1").rowid
    assert service.writing.delete_article("q1")
    embedding.table.prune()
    index.refresh()
    assert len(index) == 1
    assert gone not in [key for key, _ in index.nearest(embedder._vector("x"), 5)]


def test_other_weights_mean_every_vector_is_made_again(service):
    service.writing.write_articles([qa(1), qa(2)])
    embedding_of(service.store, CountingEmbedder("weights-a")).catch_up()
    other = CountingEmbedder("weights-b")
    assert embedding_of(service.store, other).catch_up() == 2
    assert len(other.embedded) == 2


def test_a_killed_embedding_resumes_without_redoing_committed_batches(service):
    service.writing.write_articles([qa(i) for i in range(200)])
    embedder = CountingEmbedder()

    def killed(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        embedding_of(service.store, embedder).catch_up(on_progress=killed)
    first = len(embedder.embedded)
    assert 0 < first < 200
    assert VectorTable.counts(service.store)["with_vector"] == first
    embedding_of(service.store, embedder).catch_up()
    assert len(embedder.embedded) == 200  # nothing embedded twice
    assert VectorTable.counts(service.store) == {"with_vector": 200, "pending": 0}


def test_known_vectors_are_taken_and_only_new_texts_are_embedded(service):
    from langzhong.embed.vectors import VectorCache

    service.writing.write_articles([qa(1), qa(2), qa(3)])
    embedder = CountingEmbedder()
    known = VectorCache(embedder.model_hash, DIM)
    texts = [article_text(qa(1)), article_text(qa(2))]
    known.add(texts, embedder.embed_passages(texts))
    embedder.embedded.clear()
    embedding = Embedding(service.store, VectorTable(service.store), embedder, known)
    assert embedding.catch_up(new_limit=0) == 2  # the known ones only
    assert embedder.embedded == []
    assert embedding.catch_up() == 1
    assert embedder.embedded == [article_text(qa(3))]


# -- with the real model (the dense extra) -----------------------------------------------------


@pytest.fixture
def e5_service(tmp_path: Path, monkeypatch) -> Service:
    monkeypatch.setenv("LANGZHONG_DENSE", "on")
    opened = Service(Settings.load(tmp_path / "home"))
    if opened.embedder is None:
        opened.close()
        pytest.skip(f"dense retrieval is {opened.dense_state}")
    yield opened
    opened.close()


def test_search_finds_by_meaning_what_shares_no_word_with_the_question(e5_service):
    e5_service.writing.write_articles([FEVER, TEETH])
    assert e5_service.vectors.counts() == {"with_vector": 2, "pending": 0}
    question = "娃发热怎么处理"  # no word of the fever article
    assert e5_service.index.search(e5_service.analyzer.terms(question), 10) == []
    results = e5_service.searcher.search(question)
    assert [c.article.id for c in results.candidates][:1] == ["fever"]


def test_a_document_e5_finds_joins_the_head_once():
    # BM25 ranked 1-4; e5 found 3 (deeper in BM25's list), 1 (in the head) and 5 (not there).
    ranked = [(1, 9.0), (2, 8.0), (3, 7.0), (4, 6.0)]
    joined_ranking, joined = join_nearest(ranked, 2, [3, 1, 5, 5])
    assert joined == [3, 5]
    assert joined_ranking == [(1, 9.0), (2, 8.0), (3, 0.0), (5, 0.0), (4, 6.0)]


def test_an_api_write_has_its_vector_when_the_call_returns(e5_service):
    e5_service.writing.put_article(TEETH)
    assert e5_service.vectors.counts() == {"with_vector": 1, "pending": 0}
    assert e5_service.admin.stats()["vectors"] == {"with_vector": 1, "pending": 0}
    assert e5_service.admin.stats()["dense"] == "on"
    assert e5_service.admin.stats()["vector_search"] == "exact scan"  # far below the graph's size


def test_embed_command_gives_a_backlog_its_vectors_and_stats_counts_them(tmp_path):
    home = tmp_path / "home"
    rows = tmp_path / "qa.jsonl"
    rows.write_text(
        "\n".join(
            json.dumps({"title": f"问题{i}怎么办", "ask": "描述", "answer": f"回答{i}"})
            for i in range(3)
        ),
        encoding="utf-8",
    )
    run_cli("ingest", str(rows), home=home)
    figures = json.loads(run_cli("stats", "--json", home=home).stdout)
    if figures["dense"] != "on":
        pytest.skip(f"dense retrieval is {figures['dense']}")
    # The ingest embedded its few new texts already; a backlog is what `embed` is for.
    service = Service(Settings.load(home))
    with service.store.transaction() as conn:
        conn.execute("DELETE FROM vectors")
    service.close()
    assert json.loads(run_cli("stats", "--json", home=home).stdout)["vectors"] == {
        "with_vector": 0,
        "pending": 3,
    }
    done = json.loads(run_cli("embed", "--json", home=home).stdout)
    assert done == {"embedded": 3, "with_vector": 3, "pending": 0}


def test_past_its_size_the_index_searches_a_saved_graph_that_others_load_and_follow(
    service, tmp_path
):
    service.writing.write_articles([qa(i) for i in range(300)])
    embedder = CountingEmbedder()
    embedding = embedding_of(service.store, embedder)
    embedding.catch_up()
    table, graphs = VectorTable(service.store), tmp_path / "graphs"
    exact = DenseIndex(table, DIM)
    first = DenseIndex(table, DIM, graphs, graph_min=200)
    for index in (exact, first):
        index.refresh()
    assert first._graph is not None and exact._graph is None
    assert first.method(300) == "graph" and first.method(199) == exact.method(300) == "exact scan"
    saved = list(graphs.glob("*.usearch"))
    assert len(saved) == 1
    overlap = []
    for question in [embedder._vector(f"问题{i}") for i in range(20)]:
        graph, scan = first.nearest(question, 10), exact.nearest(question, 10)
        assert graph[0] == scan[0]  # scored exactly from the same matrix
        overlap.append(len({k for k, _ in graph} & {k for k, _ in scan}) / 10)
    assert np.mean(overlap) >= 0.95  # int8 graph distances in 8 dimensions miss a near tie
    # Another process loads the saved graph and takes the changes logged after it.
    service.writing.write_articles([qa(7, "完全不同的新回答")])
    assert service.writing.delete_article("q8")
    embedding.catch_up()
    second = DenseIndex(table, DIM, graphs, graph_min=200)
    second.refresh()
    assert list(graphs.glob("*.usearch")) == saved  # loaded, not built again
    changed = embedder._vector(article_text(qa(7, "完全不同的新回答")))
    assert second.nearest(changed, 1)[0][0] == service.store.lookup("q7").rowid
    gone = embedder._vector(article_text(qa(8)))
    rowids = [k for k, _ in second.nearest(gone, 300)]
    assert len(rowids) >= 290 and service.store.lookup("q7").rowid in rowids
    assert all(service.store.get_by_rowids([k]) for k in rowids)  # q8 is not among them
    first.refresh()  # and the first follows the same changes in its own graph
    assert first.nearest(changed, 1) == second.nearest(changed, 1)


def test_a_questions_vector_is_made_from_its_first_characters_and_remembered(service):
    class Recording(CountingEmbedder):
        def embed_queries(self, texts):
            self.embedded.extend(texts)
            return super().embed_queries(texts)

    embedder = Recording()
    search = DenseSearch(embedder, DenseIndex(VectorTable(service.store), DIM))
    head = "孩子发烧三天" * 30
    first = search.question(head + "，还咳嗽")
    assert embedder.embedded == [head[:QUESTION_CHARS]]
    again = search.question(head + "，还流鼻涕")  # differs only past the head: remembered
    assert embedder.embedded == [head[:QUESTION_CHARS]]
    assert np.array_equal(first, again)
    search.question("  小孩  发烧\n怎么办 ")
    assert embedder.embedded[-1] == "小孩 发烧 怎么办"


RAY_ARTICLES = [
    qa(1, "孩子发烧到39度时可以按体重服用布洛芬退烧，精神差要马上去医院。"),
    qa(2, "牙龈出血多是牙龈炎，建议去口腔科洗牙。"),
    qa(3, "腰椎术后腰酸多与小关节承重增加有关，注意休息和锻炼腰背肌。"),
]


def home_with_pending_vectors(home: Path, monkeypatch) -> int:
    """The demo and RAY_ARTICLES written with dense off, so none has a vector; how many wait."""
    monkeypatch.setenv("LANGZHONG_DENSE", "off")
    service = Service(Settings.load(home))
    service.writing.load_demo()
    service.writing.write_articles(RAY_ARTICLES)
    pending = VectorTable.counts(service.store)["pending"]
    service.close()
    monkeypatch.setenv("LANGZHONG_DENSE", "on")
    return pending


def test_embed_runs_on_a_ray_cluster_and_gives_the_local_models_vectors(
    tmp_path, monkeypatch, ray_address
):
    pytest.importorskip("onnxruntime", reason="the dense extra is missing")
    from langzhong.embed.e5_onnx import E5Onnx

    home = tmp_path / "home"
    pending = home_with_pending_vectors(home, monkeypatch)
    done = run_cli("embed", "--ray-address", ray_address, "--json", home=home)
    counts = json.loads(done.stdout)
    assert counts["embedded"] == pending > len(RAY_ARTICLES)  # the demo's found, ours embedded
    assert counts["pending"] == 0
    service = Service(Settings.load(home))
    _, written, _ = VectorTable(service.store).changed_since(0)
    stored = {rowid: codes for rowid, codes, _ in written}
    local = E5Onnx().embed_passages([article_text(a) for a in RAY_ARTICLES])
    for article, vector in zip(RAY_ARTICLES, local, strict=True):
        on_cluster = np.frombuffer(stored[service.store.lookup(article.id).rowid], np.int8)
        assert on_cluster.astype(np.float32) @ vector / np.linalg.norm(on_cluster) > 0.999
    service.close()


def test_a_ray_cluster_with_other_weights_is_refused(ray_address):
    pytest.importorskip("onnxruntime", reason="the dense extra is missing")
    from langzhong.embed import EmbedderUnavailable
    from langzhong.embed.ray_cluster import RayEmbedder

    with pytest.raises(EmbedderUnavailable, match="not this machine's"):
        RayEmbedder(ray_address, "other-weights")


def test_an_address_where_no_ray_cluster_answers_is_one_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("ray", reason="Ray is missing")
    from conftest import free_port

    home = tmp_path / "home"
    home_with_pending_vectors(home, monkeypatch)
    done = run_cli("embed", "--ray-address", f"127.0.0.1:{free_port()}", home=home, check=False)
    assert done.returncode != 0
    assert "no Ray cluster answers at 127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr


HEART = Article(
    id="heart",
    kind="qa",
    title="高血压头晕",
    lead="血压150头晕",
    sections=(Section(heading="回答", level=1, text="高血压引起的头晕要按时服用降压药。"),),
)


def test_a_new_article_without_its_vector_yet_is_ranked_on_its_words(e5_service):
    e5_service.writing.write_articles([FEVER, TEETH, HEART])
    new = Article(
        id="new",
        kind="qa",
        title="牙龈出血刷牙出血",
        lead="刷牙牙龈出血怎么办",
        sections=(
            Section(heading="回答", level=1, text="牙龈出血多为牙龈炎，洁牙后刷牙出血会好转。"),
        ),
    )
    e5_service.writing.write_articles([new], embed=False)  # its vector not made yet
    assert e5_service.vectors.counts()["pending"] == 1
    ranking = [c.article.id for c in e5_service.searcher.search("刷牙牙龈出血").candidates]
    assert ranking[0] == "new"  # its words lead, as they would with its vector; not buried


def test_a_servers_writes_get_their_vectors_in_the_background(e5_service):
    e5_service.vectors.embed_in_background()
    for article in (FEVER, TEETH):
        e5_service.writing.put_article(article)  # returns once searchable by its words
    deadline = time.monotonic() + 60
    while e5_service.vectors.counts()["pending"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert e5_service.vectors.counts() == {"with_vector": 2, "pending": 0}
    assert [c.article.id for c in e5_service.searcher.search("娃发热怎么处理").candidates][:1] == [
        "fever"
    ]


def test_an_ingest_embeds_every_new_article_and_shows_its_progress(tmp_path):
    home = tmp_path / "home"
    rows = tmp_path / "qa.jsonl"
    rows.write_text(
        "\n".join(
            json.dumps({"title": f"第{i}个问题怎么办", "ask": f"描述{i}", "answer": f"回答{i}"})
            for i in range(260)  # more than the 200 an ingest used to embed
        ),
        encoding="utf-8",
    )
    done = run_cli("ingest", str(rows), home=home)
    assert "embedding new articles (e5)" in done.stderr
    assert json.loads(run_cli("stats", "--json", home=home).stdout)["vectors"] == {
        "with_vector": 260,
        "pending": 0,
    }
