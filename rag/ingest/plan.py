"""What one index call changes: new, changed, unchanged and removed articles, and copies stored once.

Pure functions over `Article`s; `Library.update` carries the plan out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from ..schema import Article
from .dedup import find_copies, fingerprint


@dataclass(frozen=True)
class UpdatePlan:
    add: tuple[Article, ...]  # new or changed articles (to chunk and embed)
    drop: frozenset[str]  # doc ids whose old chunks go (changed or removed)
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    duplicates: tuple[str, ...]
    copy_of: tuple[tuple[str, str], ...] = ()  # (source of a copy, doc id of the article that keeps it)


def plan_update(existing: Sequence[Article], incoming: Sequence[Article]) -> UpdatePlan:
    """Decide what an index call changes: same id + same text and metadata → unchanged; same id + new text
    or a new date, outlet or address → updated; text already stored under another id (or earlier in this
    batch) → duplicate, stored once."""
    by_id = {a.doc_id: a for a in existing}
    owner = {a.content_hash: a.doc_id for a in existing}
    add, updated, unchanged, duplicates, drop, copy_of = [], [], [], [], set(), []
    for article in incoming:
        old = by_id.get(article.doc_id)
        if old is not None and old.content_hash == article.content_hash and _meta(old) == _meta(article):
            unchanged.append(article.doc_id)
            continue
        holder = owner.get(article.content_hash)
        if holder is not None and holder != article.doc_id:
            duplicates.append(f"{article.source} (same text as {holder})")
            copy_of.append((article.source, holder))
            continue
        if old is not None:
            updated.append(article.doc_id)
            drop.add(article.doc_id)
            owner.pop(old.content_hash, None)
        add.append(article)
        by_id[article.doc_id] = article
        owner[article.content_hash] = article.doc_id
    return UpdatePlan(tuple(add), frozenset(drop), tuple(updated), tuple(unchanged), tuple(duplicates), tuple(copy_of))


def _meta(article: Article) -> tuple[str, str, str]:
    return article.date, article.publisher, article.url


def fold_near_copies(existing: Sequence[Article], plan: UpdatePlan) -> UpdatePlan:
    """The plan with its new articles fingerprinted (only those: unchanged ones keep theirs), and those that
    copy a kept one (a syndicated story: same text under other headers, clutter or small edits) moved from
    `add` to `copy_of`."""
    incoming = tuple(dataclasses.replace(a, fingerprint=fingerprint(a.text)) for a in plan.add)
    kept = [a for a in existing if a.doc_id not in plan.drop]
    near = find_copies(kept, incoming)
    plan = dataclasses.replace(plan, add=incoming)
    if not near:
        return plan
    add = tuple(a for a in plan.add if a.doc_id not in near)
    found = [(a.source, near[a.doc_id]) for a in plan.add if a.doc_id in near]
    return dataclasses.replace(
        plan,
        add=add,
        updated=tuple(d for d in plan.updated if d not in near),
        duplicates=plan.duplicates + tuple(f"{source} (a copy of {holder})" for source, holder in found),
        copy_of=plan.copy_of + tuple(found),
    )


def keep_copies(existing: Sequence[Article], incoming: Sequence[Article]) -> list[Article]:
    """Incoming articles with the copies their earlier version listed (an edit keeps its syndicated copies)."""
    listed = {a.doc_id: a.copies for a in existing if a.copies}
    return [dataclasses.replace(a, copies=listed[a.doc_id]) if a.doc_id in listed else a for a in incoming]


def with_copies(articles: Sequence[Article], copy_of: Sequence[tuple[str, str]]) -> list[Article]:
    """The articles with each copy's source listed on the article that keeps it (once each)."""
    extra: dict[str, list[str]] = {}
    for source, holder in copy_of:
        extra.setdefault(holder, []).append(source)
    out = []
    for a in articles:
        more = [s for s in dict.fromkeys(extra.get(a.doc_id, ())) if s != a.source and s not in a.copies]
        out.append(dataclasses.replace(a, copies=a.copies + tuple(more)) if more else a)
    return out
