"""An article's rows: its ``articles`` row with its ``sections``, ``links`` and ``bands``, read
back as Articles and written in one go. The statements run on both stores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from langzhong.core import Article, RelatedLink, Section
from langzhong.store.connection import Connection


def read_articles(conn: Connection, where: str, args: tuple) -> list[tuple[int, Article]]:
    """(rowid, article) of the articles ``where`` selects (a condition on ``a``), with their
    sections and links: three statements, in the caller's snapshot."""
    heads = conn.execute(
        "SELECT a.rowid, a.id, a.kind, a.title, a.date, a.source, a.url, a.department,"
        f" a.lead, a.author, a.reviewed FROM articles a WHERE {where}",
        args,
    ).fetchall()
    if not heads:
        return []
    rowids = [h[0] for h in heads]
    marks = ",".join("?" * len(rowids))
    sections: dict[int, list[Section]] = {r: [] for r in rowids}
    for article, heading, level, text in conn.execute(
        f"SELECT article, heading, level, text FROM sections WHERE article IN ({marks})"
        " ORDER BY article, position",
        rowids,
    ):
        sections[article].append(Section(heading=heading, level=level, text=text))
    links: dict[int, list[RelatedLink]] = {r: [] for r in rowids}
    for article, title, to_id in conn.execute(
        f"SELECT article, to_title, to_id FROM links WHERE article IN ({marks})"
        " ORDER BY article, position",
        rowids,
    ):
        links[article].append(RelatedLink.model_construct(title=title, id=to_id))
    return [
        (
            rowid,
            Article.model_construct(  # validated when written (see ``Article``)
                id=aid,
                kind=kind,
                title=title,
                date=date,
                source=source,
                url=url,
                department=department,
                lead=lead,
                author=author,
                reviewed=reviewed,
                sections=tuple(sections[rowid]),
                related=tuple(links[rowid]),
            ),
        )
        for rowid, aid, kind, title, date, source, url, department, lead, author, reviewed in heads
    ]


def write_article(
    conn: Connection,
    article: Article,
    content_hash: str,
    signature: np.ndarray | None,
    band_keys: Sequence[int],
    replaced: int | None,
) -> int:
    """Insert the article, or replace the stored row ``replaced`` (the one with its id), and log
    the change for the index, inside the caller's write transaction; returns its rowid."""
    values = (
        article.kind,
        article.title,
        article.date,
        article.source,
        article.url,
        article.department,
        article.lead,
        content_hash,
        signature.tobytes() if signature is not None else None,
        article.author,
        article.reviewed,
    )
    if replaced is not None:
        rowid = replaced
        conn.execute(
            "UPDATE articles SET kind=?, title=?, date=?, source=?, url=?, department=?,"
            " lead=?, content_hash=?, signature=?, author=?, reviewed=? WHERE rowid=?",
            (*values, rowid),
        )
        for table in ("sections", "links", "bands"):
            conn.execute(f"DELETE FROM {table} WHERE article=?", (rowid,))
    else:
        rowid = conn.execute(
            "INSERT INTO articles (id, kind, title, date, source, url, department, lead,"
            " content_hash, signature, author, reviewed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
            " RETURNING rowid",
            (article.id, *values),
        ).fetchone()[0]
    conn.executemany(
        "INSERT INTO sections VALUES (?,?,?,?,?)",
        [(rowid, i, s.heading, s.level, s.text) for i, s in enumerate(article.sections)],
    )
    conn.executemany(
        "INSERT INTO links VALUES (?,?,?,?)",
        [
            (rowid, i, link.title, link.id or _id_by_title(conn, link.title))
            for i, link in enumerate(article.related)
        ],
    )
    conn.executemany(
        "INSERT INTO bands VALUES (?,?) ON CONFLICT DO NOTHING",
        [(key, rowid) for key in band_keys],
    )
    # Links that named this title before it was stored now lead to it.
    conn.execute(
        "UPDATE links SET to_id=? WHERE to_id IS NULL AND to_title=?",
        (article.id, article.title),
    )
    conn.execute("INSERT INTO changes (article) VALUES (?)", (rowid,))
    return rowid


def _id_by_title(conn: Connection, title: str) -> str | None:
    row = conn.execute(
        "SELECT id FROM articles WHERE title=? ORDER BY rowid LIMIT 1", (title,)
    ).fetchone()
    return row[0] if row else None
