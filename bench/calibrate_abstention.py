"""Calibrate the abstention rule: held-out real questions should be answered, off-topic ones not.

Usage: python bench/calibrate_abstention.py [QA_JSONL_GZ]   (default: ../shared/data/...)
Builds a temporary store from all rows but 300 held out (fixed seed), then reports, for several
coverage thresholds, the share of held-out titles answered and of off-topic questions answered.
Reads ../shared only here, never in the product.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
import tempfile
from pathlib import Path

from langzhong.answer.compose import compose
from langzhong.config import Settings
from langzhong.service import Service

OFF_TOPIC = " ".join(
    (
        "今天天气怎么样 红烧肉怎么做好吃 怎么学好英语 股票明天会涨吗 北京到上海的高铁票多少钱",
        "手机屏幕碎了怎么修 猫为什么喜欢抓沙发 怎么写简历 周末去哪里玩 汽车保养多少钱",
        "电脑开不了机怎么办 如何提高写作水平 足球比赛几点开始 房贷利率是多少 怎样种西红柿",
        "洗衣机漏水怎么办 孩子不爱写作业怎么办 哪个牌子的空调好 怎么办理护照 如何学习编程",
        "吉他怎么调音 狗狗掉毛严重怎么办 怎么做蛋糕 去日本旅游要签证吗 高考志愿怎么填",
        "装修要注意什么 怎样提高网速 咖啡和茶哪个好 跑步机怎么选 理财产品靠谱吗",
    )
).split()
DEFAULT = Path(__file__).resolve().parents[2] / "shared/data/medical-dialogue-im/qa.jsonl.gz"
THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.6)


def main(path: Path = DEFAULT) -> None:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    random.Random(7).shuffle(rows)
    held, corpus = rows[:300], rows[300:]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "corpus.jsonl"
        data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in corpus), "utf-8")
        service = Service(Settings.load(Path(tmp) / "home"))
        service.ingest([data])
        sets = {
            "held-out answered": [(r["title"], service.searcher.search(r["title"])) for r in held],
            "off-topic answered": [(q, service.searcher.search(q)) for q in OFF_TOPIC],
        }
        print(f"{'min_coverage':>12} " + " ".join(f"{name:>19}" for name in sets))
        for threshold in THRESHOLDS:
            shares = [
                sum(not compose(q, r, min_coverage=threshold).abstained for q, r in pairs)
                / len(pairs)
                for pairs in sets.values()
            ]
            print(f"{threshold:>12} " + " ".join(f"{share:>19.3f}" for share in shares))
        service.close()


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:]))
