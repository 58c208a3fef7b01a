"""Red-flag rules: colloquial phrasings that must trigger, ordinary questions that must not."""

from pathlib import Path

import pytest

from langzhong.evaluation.safety import load_suites
from langzhong.question import read_question
from langzhong.triage.department import suggest_department
from langzhong.triage.red_flags import red_flags as rule_flags
from langzhong.triage.red_flags import rules

SUITES = Path(__file__).parent / "data" / "red-flags"


def red_flags(text: str):
    """The rules' flags for a question as typed."""
    return rule_flags(read_question(text))


def department(text: str, flags=()) -> str | None:
    return suggest_department(read_question(text), flags)


MUST_TRIGGER = {
    "早上起来半边脸耷拉下来了": "stroke-signs",
    "腰椎手术后两条腿都没劲了": "both-legs-weak-or-numb",
    "腰疼得厉害，双腿发麻": "both-legs-weak-or-numb",
    "两腿无力走不了路，腰痛三天了": "both-legs-weak-or-numb",
    "双下肢麻木是怎么回事": "both-legs-weak-or-numb",
    "双腿麻木，没有发烧": "both-legs-weak-or-numb",
    "屁股周围发麻，腰也疼": "saddle-numbness",
    "会阴部没有感觉了怎么办": "saddle-numbness",
    "擦屁股的时候感觉不到纸": "saddle-numbness",
    "鞍区麻木要紧吗": "saddle-numbness",
    "手术后大小便失禁": "bladder-bowel-control",
    "腰突压迫，小便控制不住": "bladder-bowel-control",
    "术后三天了尿不出来": "bladder-bowel-control",
    "腰痛还排尿困难": "bladder-bowel-control",
    "大便失禁和腰痛有关系吗": "bladder-bowel-control",
    "腰椎間盤手術後大小便失禁": "bladder-bowel-control",
    "背痛伴随胸口疼": "chest-pain",
    "腰疼突然胸痛出冷汗": "chest-pain",
    "胸口痛得厉害，喘不过气": "chest-pain",
    "术后喘不上气": "breathlessness",
    "爬两层楼就呼吸困难": "breathlessness",
    "从梯子上摔下来后腰很痛": "serious-fall-or-accident",
    "车祸后背部一直疼": "serious-fall-or-accident",
    "摔了一跤，腰直不起来": "serious-fall-or-accident",
    "腰椎手术后发烧38度5": "fever-after-surgery",
    "做完手术第五天发热": "fever-after-surgery",
    "術後發燒到39度": "fever-after-surgery",
    "没有发烧，但是术后第三天又发烧了": "fever-after-surgery",
    "术后伤口红肿还流脓": "wound-infection",
    "刀口渗液怎么办": "wound-infection",
    "伤口裂开了流水": "wound-infection",
    "今天早上突然右腿没力气": "sudden-leg-weakness",
    "腿突然抬不起来了": "sudden-leg-weakness",
    "突然左脚麻木动不了": "sudden-leg-weakness",
    "小腿肿胀疼痛，刚做完手术": "calf-swelling",
    "腿肚子肿了还发红": "calf-swelling",
    "我爸嘴歪了说话不清楚": "stroke-signs",
    "半边身子发麻无力": "stroke-signs",
    "说话突然含糊不清": "stroke-signs",
    "我妈妈头晕呕吐站不稳": "dizziness-and-unsteadiness",
    "突然走路不稳，往一边倒": "dizziness-and-unsteadiness",
    "站不住，天旋地转的": "dizziness-and-unsteadiness",
    "伤口血流不止": "severe-bleeding",
    "胃出血吐血了": "vomiting-or-coughing-blood",
    "纱布全被血浸透了": "severe-bleeding",
    "活着没意思，想自杀": "suicidal-thoughts",
    "最近总是不想活了": "suicidal-thoughts",
    "活着太累了，不想再坚持了": "suicidal-thoughts",
    "吃了一整瓶安眠药": "overdose-or-poisoning",
    "喝了农药怎么办": "overdose-or-poisoning",
    "家里人煤气中毒了": "overdose-or-poisoning",
    "老公突然晕倒叫不醒": "unconscious",
    "孩子高烧抽搐了": "seizure",
    "抽搐了五分钟还不停": "seizure",
    "孩子吞了纽扣电池": "swallowed-battery-or-magnet",
    "宝宝吞了一枚硬币": "swallowed-object",
    "鱼刺卡在喉咙里了": "swallowed-object",
    "被狗咬了要打疫苗吗": "animal-bite",
    "老人摔倒后髋部疼不能走": "fall-hip-pain",
    "我爸爸血压180头很痛": "very-high-blood-pressure-with-symptoms",
    "血压190/110头痛得厉害": "very-high-blood-pressure-with-symptoms",
    "胸口闷，量了血压200": "very-high-blood-pressure-with-symptoms",
    "高血压180吃什么药": "very-high-blood-pressure",
    "血压160/125": "very-high-blood-pressure",
    "低压125高压170怎么办": "very-high-blood-pressure",
    "吃了花生后嘴唇肿喉咙发紧": "anaphylaxis",
    "被马蜂蛰了喉咙发紧": "anaphylaxis",
    "打完针过敏，喘不上气": "anaphylaxis",
    "被蛇咬了怎么办": "snake-bite",
    "怀孕七个月突然流血": "bleeding-in-pregnancy",
    "孕妇肚子疼还流血": "bleeding-in-pregnancy",
    "两个月宝宝发烧38度5": "young-baby-fever",
    "20天大的宝宝发烧": "young-baby-fever",
    "1个多月的宝宝体温38度": "young-baby-fever",
    "突然剧烈头痛像炸开一样": "sudden-severe-headache",
    "脖子僵硬还发高烧": "meningitis-signs",
    "身上出了压不褪色的红点": "meningitis-signs",
    "突然肚子剧痛": "sudden-severe-abdominal-pain",
    "肚子硬得像木板": "sudden-severe-abdominal-pain",
    "被开水烫伤一大片": "serious-burn",
    "手被硫酸灼伤": "serious-burn",
}

MUST_NOT_TRIGGER = [
    "腰椎微创手术后腰酸痛是怎么回事",
    "腰突然直不起来是怎么回事",
    "高血压患者能吃党参吗",
    "拉肚子好几天了怎么办",
    "手术后没有发烧，伤口也不红",
    "没有大小便失禁，只是腰酸",
    "腿不麻也不无力，就是腰疼",
    "无胸痛，偶尔咳嗽",
    "我没有摔倒过，腰却一直疼",
    "颈椎病引起头晕怎么办",
    "胃胀气吃什么药",
    "乙肝小三阳要治疗吗",
    "糖尿病人能吃西瓜吗",
    "失眠多梦怎么调理",
    "咳嗽有痰怎么办",
    "腰肌劳损怎么锻炼",
    "久坐腰酸背痛",
    "手术后多久可以洗澡",
    "术后伤口愈合得很好",
    "小便黄是怎么回事",
    "大便干燥怎么办",
    "尿频尿急",
    "腰痛贴膏药有用吗",
    "孩子发烧38度吃什么药",
    "胃痛是怎么回事",
    "腰间盘突出能根治吗",
    "坐骨神经痛怎么缓解",
    "腿抽筋是缺钙吗",
    "甲状腺结节要手术吗",
    "手术前需要空腹吗",
    "高血压吃什么药好",
    "痛风能喝啤酒吗",
    "膝盖疼上下楼梯更明显",
    "早上起床手指发麻",
    "腰椎手术后多久能上班",
    "脂肪肝怎么调理",
    "肾结石多喝水有用吗",
    "慢性胃炎能治好吗",
    "最近有点头晕乏力",
    "手术后腰还有点酸，没有别的不舒服",
    "会阴侧切伤口多久能好",
    "平时说话声音沙哑",
    "宝宝刚学走路还站不稳",
    "头晕，但没有站不稳",
    "不想坚持吃药了",
    "坚持锻炼能降血压吗",
    "面部抽搐怎么办",
    "孩子抽动症看什么科",
    "狂犬疫苗要打几针",
    "被蚊子咬了很痒",
    "安眠药吃多了会上瘾吗",
    "吃了很多药还是不好",
    "纽扣掉了",
    "一氧化碳中毒引起的癫痫怎么治",
    "咽喉有异物感",
    "吃药还是打针好",
    "癫痫发作时四肢抽搐口吐白沫",
    "血压120/80正常吗",
    "血压从180降到了130",
    "血压没有180",
    "18岁血压多少正常",
    "喉咙肿痛怎么办",
    "咽喉肿痛吃什么药",
    "对海鲜过敏能吃虾吗",
    "青霉素过敏能用头孢吗",
    "蛇胆能吃吗",
    "我妹妹最近2个月经常发烧",
    "宝宝3个月打疫苗后发烧",
    "1个多月的宝宝体温多少正常",
    "头痛像针扎一样",
    "开水烫伤起泡了",
    "月经出血量大",
    "孕妇可以吃芒果吗",
    "尴尬得想死，做B超时当着医生放了个屁",
    "新闻说某明星抑郁症自杀了，抑郁症会遗传吗",
    "跳楼机玩完一直想吐",
    "想多攒点降压药带出国，海关有限制吗",
    "以前有过轻生念头，现在已经走出来了",
    "听别人说高血压昏迷不醒会死人，是真的吗",
    # half the face that hurts, swells or twitches is no stroke; speech a tongue-tie slurs neither
    "三叉神经痛，一碰半边脸就像过电",
    "智齿发炎半边脸肿了",
    "孩子舌系带短，说话大舌头要剪吗",
    "中风后半边身子没劲，怎么做康复",
    "孩子漏斗胸，胸口凹进去一块，要手术吗",
    "摔了一跤胸口疼，是不是肋骨骨折了",
]


@pytest.mark.parametrize("question", sorted(MUST_TRIGGER))
def test_red_flag_phrasing_triggers_its_rule(question):
    assert MUST_TRIGGER[question] in {flag.id for flag in red_flags(question)}


@pytest.mark.parametrize("question", MUST_NOT_TRIGGER)
def test_ordinary_question_raises_no_red_flag(question):
    assert red_flags(question) == ()


def test_there_are_enough_phrasings_and_every_rule_has_its_suite():
    assert len(MUST_TRIGGER) >= 40 and len(MUST_NOT_TRIGGER) >= 40
    phrasings = load_suites(SUITES)
    for rule in rules():
        lines = [p for p in phrasings if p.rule == rule.flag.id]
        hits = [p for p in lines if p.expect == "hit"]
        assert len(hits) >= 20, rule.flag.id
        assert len(lines) - len(hits) >= 20, rule.flag.id
        assert {p.level for p in lines} == {rule.flag.level}


def test_every_rule_names_its_source_and_what_to_do():
    for rule in rules():
        assert rule.flag.source and rule.flag.advice and rule.flag.sign
        assert rule.flag.source_zh and not rule.flag.source_zh.isascii()  # shown in Chinese
        assert rule.flag.level in ("crisis", "emergency", "urgent")


def test_negation_only_denies_its_own_clause():
    assert red_flags("没有发烧") == ()
    assert red_flags("术后没有发烧") == ()
    assert [f.id for f in red_flags("术后不发烧了，但是伤口流脓")] == ["wound-infection"]


def test_a_question_form_or_a_word_with_no_in_it_denies_nothing():
    """是不是 and 要不要 ask; 没用 and 没意义 are words of their own, not 没 before the sign."""
    assert "animal-bite" in {f.id for f in red_flags("手臂上有个小伤口，不知道是不是被蝙蝠咬了")}
    assert [f.id for f in red_flags("这几天一直在想要不要结束自己")] == ["suicide-plan"]
    assert [f.id for f in red_flags("我爸老念叨活着没用了、拖累儿女")] == ["suicidal-thoughts"]
    assert red_flags("不是抽搐，就是手有点抖") == ()


def test_a_death_in_the_family_or_the_news_vetoes_no_crisis_said_beside_it():
    """Bereavement is a risk, not a figure of speech: only the look-alike itself is let go."""
    assert [f.id for f in red_flags("妈妈去世了，我已经把安眠药攒够了")] == ["suicide-plan"]
    assert [f.id for f in red_flags("家里有人自杀过，我现在也想死")] == ["suicidal-thoughts"]
    assert red_flags("看到新闻说有大学生自杀，学校一般怎么做心理筛查") == ()


def test_a_year_is_no_blood_pressure_reading_nor_diabetes_an_overdose():
    assert red_flags("2009年底因门静脉高压切除脾脏，2010年8月便血") == ()
    assert red_flags("有糖尿病能不能吃双氯芬酸钠肠溶片") == ()
    assert [f.id for f in red_flags("孩子吃了两颗糖，后来才发现是奶奶的安定片")] == [
        "overdose-or-poisoning"
    ]


def test_a_worse_sign_stands_in_for_the_milder_one():
    assert [f.id for f in red_flags("我爸爸血压180头很痛")] == [
        "very-high-blood-pressure-with-symptoms"
    ]
    assert [f.id for f in red_flags("过敏喉咙肿了喘不上气")] == ["anaphylaxis"]
    for rule in rules():  # what a rule replaces exists
        assert set(rule.replaces) <= {other.flag.id for other in rules()}


def test_department_from_question_and_emergencies():
    assert department("腰椎微创手术后腰酸痛是怎么回事") == "脊柱外科"
    assert department("高血压能吃党参吗") == "心内科"
    assert department("手术后大小便失禁", flags=red_flags("手术后大小便失禁")) == "急诊科"
    assert department("今天天气怎么样") is None
    # a bitten child needs the rabies clinic before the paediatrician
    bitten = "3岁宝宝被狗咬了"
    assert department(bitten, flags=red_flags(bitten)).startswith("急诊科")
    assert department("宝宝吞了一枚硬币", flags=red_flags("宝宝吞了一枚硬币")) == "儿科"
    # thoughts of suicide: the help lines now, and the mental-health door for the days after; a
    # plan, or an emergency beside the thoughts, sends to the emergency department
    for text, door in (
        ("最近总想死，活着没意思", "精神心理科"),
        ("活着没意思，药已经攒够了", "急诊科"),
        ("不想活了，刚吃了一整瓶安眠药", "急诊科"),
    ):
        assert department(text, flags=red_flags(text)) == door, text
