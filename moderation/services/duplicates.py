"""Near-duplicate questions, suggested to moderators for merging (rapidfuzz)."""
from __future__ import annotations

from rapidfuzz import fuzz, process

from ..models import OPEN_STATUSES, Question

THRESHOLD = 70


def similar(questions: list[Question], only: set[int] | None = None, limit: int = 3) -> dict[int, list[int]]:
    """For each open question (or those in `only`), the ids of the most similar open others, best first."""
    candidates = [q for q in questions if q.status in OPEN_STATUSES]
    texts = {q.id: q.text.casefold() for q in candidates}
    result: dict[int, list[int]] = {}
    for q in candidates:
        if only is not None and q.id not in only:
            continue
        others = {qid: text for qid, text in texts.items() if qid != q.id}
        found = process.extract(texts[q.id], others, scorer=fuzz.token_set_ratio,
                                score_cutoff=THRESHOLD, limit=limit)
        if found:
            result[q.id] = [key for _, _, key in found]
    return result
