"""Evaluation stage: retrieval quality on real patient questions, beside the peers."""
