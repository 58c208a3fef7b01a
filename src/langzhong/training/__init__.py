"""Learning the shipped models from the dataset's train split (``langzhong train``): the
translation table and the reranker's weights, the per-hit confidence model and its threshold, the
department classifier. It reads the search and answer stages; they never read it."""
