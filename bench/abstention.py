"""What the answer page shows on a store built like the site's: held-out real questions should
get a few confident hits, off-topic ones none.

Usage: python bench/abstention.py [QA_JSONL_GZ]   (default: the bundled demo rows)
Builds a temporary store from all rows but 300 held out (fixed seed) — documents hold the
patient's question and the doctor's answer, as the demo store does — then asks the held-out
titles and 30 everyday non-medical questions, and reports how many are answered and how many
hits are shown, with the site's rule (confident hits of a question that names a medical word) and
with the confidence cut alone.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
import tempfile
from importlib import resources
from pathlib import Path

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
DEFAULT = Path(str(resources.files("langzhong.demo").joinpath("medical-dialogue-im.jsonl.gz")))


def main(path: Path = DEFAULT) -> None:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    random.Random(7).shuffle(rows)
    held, corpus = rows[:300], rows[300:]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "corpus.jsonl"
        data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in corpus), "utf-8")
        service = Service(Settings.load(Path(tmp) / "home"))
        service.writing.ingest([data])
        print(f"{'questions':>18} {'answered':>9} {'hits shown':>11} {'cut alone':>10}")
        for name, questions in (
            ("held-out titles", [r["title"] for r in held]),
            ("off-topic", OFF_TOPIC),
        ):
            answers = [service.asking.ask(q) for q in questions]
            confident = [service.searcher.search(q, confident=True).total for q in questions]
            answered = sum(not a.abstained for a in answers) / len(answers)
            shown = sum(len(a.hits) for a in answers) / len(answers)
            alone = sum(min(n, 10) for n in confident) / len(confident)
            print(f"{name:>18} {answered:>9.3f} {shown:>11.2f} {alone:>10.2f}")
        service.close()


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:]))
