"""The two Milvus collections of a shared index (``milvus_index.py``): the documents (their
terms as codes for BM25, the terms in order for the reranker, the e5 vector with an HNSW
index) and the state (the checkpoint and the document frequencies' token)."""

from __future__ import annotations

try:
    from pymilvus import DataType, Function, FunctionType, MilvusClient
except ImportError:  # the cluster extra is not installed
    MilvusClient = None

MAX_TEXT = 65_535  # Milvus's longest VARCHAR
E5_DIM = 384  # multilingual-e5-small's vectors
HNSW = {"M": 16, "efConstruction": 200}  # Milvus's defaults for the e5 field's graph


def create_missing(client: MilvusClient, docs: str, state: str, dim: int, timeout_s: float) -> None:
    """The two collections, made where missing and loaded (a restarted server may hold them
    released; loading a loaded collection does nothing). A collection of an earlier layout
    (no e5 field) is dropped with its checkpoint: the indexer then rebuilds it."""
    if client.has_collection(docs, timeout=timeout_s):
        fields = client.describe_collection(docs, timeout=timeout_s)["fields"]
        if "e5" not in {field["name"] for field in fields}:
            for name in (docs, state):
                client.drop_collection(name, timeout=timeout_s)
    create_docs(client, docs, dim, timeout_s)
    _create_state(client, state, timeout_s)
    for name in (docs, state):
        client.load_collection(name, timeout=timeout_s * 10)


def create_docs(client: MilvusClient, docs: str, dim: int, timeout_s: float) -> None:
    if client.has_collection(docs, timeout=timeout_s):
        return
    schema = client.create_schema(auto_id=False)
    schema.add_field("key", DataType.INT64, is_primary=True)
    schema.add_field(
        "codes",
        DataType.VARCHAR,
        max_length=MAX_TEXT,
        enable_analyzer=True,
        analyzer_params={"tokenizer": "standard"},
    )
    schema.add_field("hashes", DataType.VARCHAR, max_length=MAX_TEXT)
    schema.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("e5", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("has_vector", DataType.BOOL)
    schema.add_function(
        Function(
            name="codes_bm25",
            function_type=FunctionType.BM25,
            input_field_names=["codes"],
            output_field_names=["bm25"],
        )
    )
    index = client.prepare_index_params()
    index.add_index(field_name="bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    index.add_index(field_name="e5", index_type="HNSW", metric_type="COSINE", params=HNSW)
    client.create_collection(docs, schema=schema, index_params=index, consistency_level="Strong")


def _create_state(client: MilvusClient, state: str, timeout_s: float) -> None:
    if not client.has_collection(state, timeout=timeout_s):
        schema = client.create_schema(auto_id=False)
        schema.add_field("name", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("value", DataType.VARCHAR, max_length=1024)
        schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs a vector
        index = client.prepare_index_params()
        index.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
        client.create_collection(
            state, schema=schema, index_params=index, consistency_level="Strong"
        )
