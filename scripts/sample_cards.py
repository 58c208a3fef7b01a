"""Draw the hand-reviewed sample of knowledge cards (docs/knowledge.md, "Cards judged by hand").

    python scripts/sample_cards.py --seed 3602 --out tests/data/cards-sample.jsonl

50 cards of distinct entities, as the bundled dataset's questions in a seeded order give them,
every item shown. The judgements already made of an item (in --out, and in any --judged file)
are kept, so after a change of the cleaning only new items wait for a review (``"right":
null``). Prints the share of the judged items that are right.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from langzhong.evaluation.cards import (
    SAMPLE_SIZE,
    demo_titles,
    draw,
    judgements,
    load_sample,
    sample_line,
    share_right,
)
from langzhong.knowledge import shipped_graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--size", type=int, default=SAMPLE_SIZE)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--judged", type=Path, nargs="*", default=[], help="earlier samples")
    args = parser.parse_args()
    graph = shipped_graph()
    if graph is None:
        raise SystemExit("this package ships no knowledge graph")
    judged = {}
    for path in [*args.judged, args.out]:
        if path.exists():
            judged |= judgements(load_sample(path))
    lines = [sample_line(t, c, judged) for t, c in draw(demo_titles(), graph, args.seed, args.size)]
    args.out.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), "utf-8"
    )
    print(json.dumps(share_right(lines), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
