"""Knowledge stage: the medical knowledge graph, the entities a question names, its intent and
the cards the answer page shows."""

from langzhong.knowledge.graph import Entity, KnowledgeGraph, Mention, shipped_graph

__all__ = ["Entity", "KnowledgeGraph", "Mention", "shipped_graph"]
