"""Commands that read the store as a patient would: ask, show."""

from __future__ import annotations

import click
from rich.text import Text

from langzhong.cli.main import fail, main, open_service, out, plain
from langzhong.core import Answer, Article, KnowledgeCard


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-n", "--limit", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--page", default=1, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--all", "everything", is_flag=True, help="The whole ranking, each hit with its confidence."
)
@click.pass_context
def ask(
    ctx: click.Context, question: str, as_json: bool, limit: int, page: int, everything: bool
) -> None:
    """Answer a question: the articles that answer it confidently, each with its passage."""
    if not question.strip():
        fail("the question is empty")
    service = open_service(ctx, demo=True)
    answer = service.asking.ask(question, page=page, page_size=limit, everything=everything)
    if as_json:
        click.echo(answer.model_dump_json(indent=2))
    else:
        _print_answer(answer, limit)


def _print_card(card: KnowledgeCard) -> None:
    out.print(plain(f"【{card.entity}】", style="bold magenta"))
    if card.missing:
        out.print(plain(f"  知识图谱里没有「{card.entity}」的{card.missing}。", style="bold"))
    for fact, items in card.facts.items():
        more = " …" if fact in card.more else ""
        style = "bold" if fact == card.answer else ""
        out.print(plain(f"  {fact}：{'、'.join(items)}{more}", style=style))
    out.print(plain(f"  来源：{card.source}", style="dim"))
    out.print()


def _highlighted(text: str, spans: tuple[tuple[int, int], ...]) -> Text:
    shown = plain(text)
    for start, end in spans:
        shown.stylize("bold black on yellow", start, end)
    return shown


CRISIS_LINES = (
    "你并不孤单，现在就可以找人谈谈：",
    "  12356          全国统一心理援助热线",
    "  400-161-9995   希望24热线（24 小时）",
    "  010-82951332   北京心理危机研究与干预中心（24 小时）",
    "  120            已经伤害了自己或有立即的危险时，或去最近医院的急诊",
)


def _print_answer(answer: Answer, page_size: int) -> None:
    if answer.crisis:
        out.print(Text("\n".join(CRISIS_LINES), style="bold green"))
        return
    for flag in answer.red_flags:
        out.print(Text(f"⚠ {flag.sign}：{flag.advice}", style="bold red"))
    if answer.department:
        out.print(Text(f"建议就诊科室：{answer.department}"))
    for card in answer.knowledge:
        _print_card(card)
    if answer.emergency:  # the notice above is the whole answer
        return
    if not answer.hits:
        out.print("没有找到足够可靠的答案。No reliable answer in the corpus; please ask a doctor.")
        return
    if not answer.everything:
        out.print(Text(f"找到 {answer.total} 条相关回答", style="dim"))
        if answer.page == 1 and not answer.best:
            out.print(Text("没有一条把握很大，不一定回答了你的问题；请结合医生的意见参考。"))
    for rank, hit in enumerate(answer.hits, start=(answer.page - 1) * page_size + 1):
        out.print(plain(f"{rank}. {hit.title}", style="bold"))
        meta = " · ".join(x for x in (hit.source, hit.date, hit.department) if x)
        # A ranked hit's score is its confidence; a score alone where no model gives one.
        shown = (
            f"score {hit.score:.2f}"
            if hit.confidence is None
            else f"confidence {hit.confidence:.2f}"
        )
        out.print(plain(f"   {meta} · {shown} · id {hit.id}", style="dim"))
        if hit.section:
            out.print(plain(f"   {hit.section}", style="cyan"))
        out.print(Text("   ").append(_highlighted(hit.passage, hit.highlights)))
        if hit.related:
            names = "；".join(link.title for link in hit.related)
            out.print(plain(f"   相关阅读：{names}", style="green"))
        out.print()


@main.command()
@click.argument("article_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx: click.Context, article_id: str, as_json: bool) -> None:
    """Print one stored article with its structure."""
    article = open_service(ctx, demo=True).asking.article(article_id)
    if article is None:
        fail(f"no article with id {article_id!r}")
    if as_json:
        click.echo(article.model_dump_json(indent=2))
    else:
        _print_article(article)


def _print_article(article: Article) -> None:
    out.print(plain(article.title, style="bold"))
    out.print(plain(" · ".join(x for x in (article.source, article.date, article.id) if x)))
    if article.lead:
        out.print(plain(article.lead))
    for section in article.sections:
        out.print(plain("  " * (section.level - 1) + section.heading, style="bold cyan"))
        if section.text:
            out.print(plain(section.text))
    if article.related:
        out.print(Text("相关阅读", style="bold green"))
        for link in article.related:
            out.print(plain(f"  {link.title}" + (f"  ({link.id})" if link.id else "")))
