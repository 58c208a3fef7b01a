"""Asking: a reader's side of the service (the answer page, an article and what it links to,
the knowledge graph's entities, the 「这个回答有帮助吗？」 answers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from langzhong.answer.compose import PAGE_SIZE, cards_for, compose, help_alone
from langzhong.core import Answer, Article
from langzhong.embed.base import Embedder
from langzhong.index import LexicalIndex
from langzhong.ingest.indexer import Indexer
from langzhong.knowledge import Entity, shipped_graph
from langzhong.knowledge.cards import mentioned
from langzhong.question import Question, read_question
from langzhong.search import Searcher
from langzhong.search.searcher import Results
from langzhong.store import ArticleStore
from langzhong.text import Analyzer
from langzhong.triage import Triage, triage

MENTION_CHARS = 400  # of an article's lead, searched for the entities it names
PROBE_QUESTION = "感冒发烧怎么办"  # asked by ``calls_per_question`` when none was asked yet


class Asking:
    def __init__(
        self,
        store: ArticleStore,
        index: LexicalIndex,
        indexer: Indexer,
        searcher: Searcher,
        analyzer: Analyzer,
        embedder: Embedder | None,
    ) -> None:
        self.store, self.index, self.indexer = store, index, indexer
        self.searcher, self.analyzer, self.embedder = searcher, analyzer, embedder
        self.questions = self.question_calls = 0  # searches run, index calls they made
        # Told each search's index calls (the web app counts them for /metrics).
        self.on_search: Callable[[int], None] = lambda calls: None

    def ask(
        self, query: str, page: int = 1, page_size: int = PAGE_SIZE, everything: bool = False
    ) -> Answer:
        """The answer page: help alone for a crisis or an emergency; otherwise the confident
        hits for the question (``everything``: the whole ranking, page by page, each hit with
        its confidence)."""
        question = self.read(query)
        cards = cards_for(question)
        decision = triage(question, cards, self._model_hash())
        if decision.crisis or decision.emergency:
            return help_alone(question, decision)
        page = max(page, 1)
        start = (page - 1) * page_size
        results = self._search(
            query, start=start, count=page_size, confident=not everything, question=question
        )
        return compose(question, decision, cards, results, page=page, everything=everything)

    def read(self, query: str) -> Question:
        """The question, read once, with its e5 vector where the model is on."""
        dense = self.searcher.dense
        return read_question(query, self.analyzer, dense.question(query) if dense else None)

    def triage(self, query: str) -> Triage:
        """The triage decision alone (``langzhong eval safety`` measures it)."""
        question = self.read(query)
        return triage(question, cards_for(question), self._model_hash())

    def _model_hash(self) -> str | None:
        return self.embedder.model_hash if self.embedder is not None else None

    def ranking(self) -> str:
        """Which ranking serves the questions, in words a page footer can show."""
        if self.embedder is None:
            return "按词语（BM25 与翻译模型）；e5 语义模型未开启"
        judged = getattr(self.searcher.dense_confidence, "best", None) is not None
        said = "按词语（BM25 与翻译模型）和 e5 语义模型"
        return said + ("；把握按人工评判的回答训练" if judged else "")

    def warm_up(self) -> None:
        """Load what the first search would otherwise wait for: the e5 model (about 1 s) and
        the dense index."""
        dense = self.searcher.dense
        if dense is not None and dense.ready():
            dense.question("你好")

    def _search(
        self,
        query: str,
        start: int = 0,
        count: int = PAGE_SIZE,
        confident: bool = False,
        question: Question | None = None,
    ) -> Results:
        """The searcher's answer; on a store other servers write to, their changes are applied
        first, so a write through any server is searchable here as soon as it returns."""
        if self.store.shared and self.indexer.behind():
            self.indexer.catch_up()
        before = self.index_calls()
        results = self.searcher.search(
            query, start=start, count=count, confident=confident, question=question
        )
        calls = self.index_calls() - before
        self.questions += 1
        self.question_calls += calls
        self.on_search(calls)
        return results

    def index_calls(self) -> int:
        """Requests this process sent to a shared index server (0 for an index in the home)."""
        return getattr(self.index, "calls", 0)

    def calls_per_question(self) -> float:
        """Index server requests a question cost in this process, on average (one probe
        question first where none was asked)."""
        if not self.questions:
            self._search(PROBE_QUESTION)
        return round(self.question_calls / self.questions, 2)

    # -- an article and what it links to -------------------------------------------------------

    def article(self, article_id: str) -> Article | None:
        return self.store.get(article_id)

    def related_questions(self, article: Article, count: int = 5) -> list[Article]:
        """The other articles and questions that answer this one's title, as confidently as the
        results page would show them (none rather than ones on another illness), itself and its
        namesakes left out."""
        results = self._search(article.title, count=count + 3, confident=True)
        others = [c.article for c in results.candidates if c.article.title != article.title]
        return others[:count]

    def entity(self, name: str) -> Entity | None:
        """An entity of the knowledge graph, by its name."""
        graph = shipped_graph()
        return graph.entity(name) if graph else None

    def entity_articles(self, entity: Entity, count: int = 8) -> list[Article]:
        """The stored articles that best answer a search for the entity's names."""
        query = " ".join(dict.fromkeys(n for n in entity.names[:3] if not n.isascii()))
        results = self._search(query or entity.name, count=count, confident=True)
        return [c.article for c in results.candidates]

    def mentioned_entities(self, article: Article, count: int = 6) -> list[Entity]:
        """The illnesses and drugs an article's title and lead name, for links to their pages."""
        return mentioned(f"{article.title}\n{article.lead[:MENTION_CHARS]}")[:count]

    def add_feedback(self, question: str, article_id: str, helpful: bool) -> None:
        """A reader's 「这个回答有帮助吗？」, kept with the hour only (nothing to match with
        logs)."""
        hour = datetime.now(UTC).strftime("%Y-%m-%dT%H:00Z")
        self.store.add_feedback(question, article_id, helpful, hour)
