"""Similar-question suggestions at talk scale: .venv/bin/python bench/similar.py [--questions 1500]

Fills a talk's index with N German questions (the series fixture's 90, then variations of
them with other places, numbers and wording), then adds 200 more one at a time and measures
what the background worker spends per new question: index update plus the new question's
suggestions plus those of the questions it meets (workers.similar.compute). Prints wall and CPU
time; asserts nothing (the target is ≤ 20 ms per new question at 1,500).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from similar_corpus import series_questions  # noqa: E402

from moderation.services.similar import TalkIndex  # noqa: E402
from moderation.workers.similar import compute  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1500)
    parser.add_argument("--new", type=int, default=200)
    args = parser.parse_args()
    texts = series_questions(args.questions + args.new)
    index = TalkIndex()
    started = time.perf_counter()
    for qid, text in enumerate(texts[:args.questions], start=1):
        index.add(qid, text)
    build = time.perf_counter() - started
    costs, cpu, suggested = [], [], 0
    for qid, text in enumerate(texts[args.questions:], start=args.questions + 1):
        started, cpu_started = time.perf_counter(), time.process_time()
        index.add(qid, text)
        found = compute(index, {qid}, {})
        costs.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        suggested += bool(found.get(qid))
    costs.sort()
    cpu.sort()
    print(f"index of {args.questions} questions built in {build * 1000:.0f} ms "
          f"({build * 1e6 / args.questions:.0f} µs per question)")
    print(f"per new question ({args.new}, with the lists of the questions it meets): "
          f"p50 {statistics.median(costs):.1f} ms, p95 {costs[int(0.95 * len(costs)) - 1]:.1f} ms, "
          f"max {costs[-1]:.1f} ms; {suggested} of {args.new} got suggestions")
    print(f"CPU time per new question (less sensitive to a busy machine): p50 {statistics.median(cpu):.1f} ms, "
          f"p95 {cpu[int(0.95 * len(cpu)) - 1]:.1f} ms, max {cpu[-1]:.1f} ms")


if __name__ == "__main__":
    main()
