from langzhong.text import default_analyzer, normalize


def test_normalize_keeps_length_and_folds_width_case_and_script():
    original = "腰椎間盤突出，ＡＢＣ醫生說　滑膜崁顿"
    folded = normalize(original)
    assert len(folded) == len(original)
    assert folded == "腰椎间盘突出,abc医生说 滑膜嵌顿"


def test_medical_lexicon_is_loaded_in_jieba_form():
    # THUOCL lines are word<TAB>freq; converted to "word freq" they change segmentation.
    terms = default_analyzer().terms("高血压患者能吃党参吗")
    assert "高血压患者" in terms
    assert "胃胀气" in default_analyzer().terms("最近总是拉肚子还胃胀气")


def test_question_filler_is_not_a_search_term():
    terms = default_analyzer().terms("请问医生，腰椎微创手术后腰酸痛是怎么回事？谢谢")
    assert {"请问", "医生", "怎么回事", "谢谢", "是"}.isdisjoint(terms)
    assert {"腰椎", "微创", "手术", "腰酸"} <= set(terms)


def test_traditional_question_finds_simplified_terms():
    assert "腰椎间盘" in default_analyzer().terms("腰椎間盤突出怎麼辦")
