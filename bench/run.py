"""Fragerunde load benchmarks: `make bench` (or .venv/bin/python bench/run.py --help).

For each async mode (eventlet, gevent, threading) it starts a real server (`flask --app wsgi serve`)
on a free loopback port with a fresh database, and prints figures — never assertions:

* latency: N sequential submissions, each from an audience client; time to the
  acknowledgement, and to the moderator's `question` event (p50 / p95 / max);
* throughput: M audience clients submit 5 questions each at once (5 is the per-client
  limit per minute); acknowledged per second, and per second until the moderator saw all;
* capacity: raw WebSocket audience connections (handshake + snapshot) opened until the
  target or the time budget; then one approval fanned out to all of them (p50 / p95 / max
  until each connection had it).

Bounded in counts and time; loopback only. RATE_LIMIT_EXEMPT=127.0.0.1 as the contract allows
for load tests (per-client limits still apply, hence many clients).
"""
from __future__ import annotations

import argparse
import datetime
import os
import resource
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

import logging  # noqa: E402

from rawclient import Crowd  # noqa: E402
from server import Server, close_all, has_question, new_msg_id, ok, pct  # noqa: E402

logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
logging.getLogger("socketio.client").setLevel(logging.CRITICAL)

PER_CLIENT = 5  # LIMIT_SUBMIT_PER_CLIENT: 5 per minute


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def latency(srv: Server, mod, n: int) -> dict:
    clients = [srv.audience() for _ in range((n + PER_CLIENT - 1) // PER_CLIENT)]
    acks, seen = [], []
    for i in range(n):
        client = clients[i // PER_CLIENT]
        text = f"Latenz {i} {uuid.uuid4().hex[:8]}"
        mark = len(mod.events)
        t0 = time.perf_counter()
        ack = client.call("submit", {"text": text, "client_msg_id": new_msg_id()}, timeout=15)
        t1 = time.perf_counter()
        ev = mod.wait_for(has_question(text), 15, start=mark)
        if not ok(ack) or ev is None:
            raise RuntimeError(f"latency run failed at {i}: {ack}")
        acks.append(t1 - t0)
        seen.append(ev[0] - t0)
    close_all(clients)
    return {"ack_p50": pct(acks, 50), "p50": pct(seen, 50), "p95": pct(seen, 95), "max": max(seen), "n": n}


def throughput(srv: Server, mod, m: int) -> dict:
    """m raw audience connections send their 5 questions each at once; the poller counts acks."""
    crowd = Crowd(srv.port, srv.origin, srv.audience_id)
    try:
        connected, _ = crowd.connect(m, 30)
        total = connected * PER_CLIENT
        texts = [(c, f"Last {k}.{i} {uuid.uuid4().hex[:8]}") for k, c in enumerate(list(crowd.clients))
                 for i in range(PER_CLIENT)]
        wanted = {t for _, t in texts}
        mark = len(mod.events)
        t0 = time.perf_counter()
        with crowd.lock:           # all sent before the poller reads anything back
            for client, text in texts:
                client.submit(text, new_msg_id())
        deadline = time.monotonic() + 60
        while len(crowd.acks) < total and time.monotonic() < deadline:
            time.sleep(0.01)
        acks = list(crowd.acks)

        def moderator_has_all(c):
            got = {d["question"]["text"] for _, n, d in c.events[mark:] if n == "question" and isinstance(d, dict)}
            return len(got & wanted) == total

        mod.wait_state(moderator_has_all, 60)
        last_mod = max((t for t, n, d in mod.events[mark:] if n == "question"), default=t0)
        last_ack = max((t for t, _ in acks), default=t0)
        good = sum(1 for _, good in acks if good)
        return {"acked": good, "total": total, "ack_per_s": good / (last_ack - t0),
                "mod_per_s": total / (last_mod - t0), "seconds": last_ack - t0}
    finally:
        crowd.close()


def capacity(srv: Server, mod, target: int, budget: float) -> dict:
    crowd = Crowd(srv.port, srv.origin, srv.audience_id)
    try:
        connected, seconds = crowd.connect(target, budget)
        time.sleep(1.0)                      # let the server settle; then count who is still there
        alive = crowd.alive()
        result = {"connected": connected, "target": target, "seconds": seconds, "alive": alive,
                  "failures": crowd.failures[:3], "fanout_got": 0, "fanout_p50": float("nan"),
                  "fanout_p95": float("nan"), "fanout_max": float("nan")}
        # one approval, fanned out to every audience connection
        marker = f"FANOUT-{uuid.uuid4().hex[:10]}"
        try:
            submitter = srv.audience(wait_timeout=30)
            ack = submitter.call("submit", {"text": marker, "client_msg_id": new_msg_id()}, timeout=30)
            crowd.expect(marker)
            t0 = time.perf_counter()
            answer = mod.call("approve", {"question_id": ack["question"]["id"]}, timeout=30)
            deadline = time.monotonic() + 20
            while len(crowd.arrivals()) < alive and time.monotonic() < deadline:
                time.sleep(0.05)
            arrivals = [t - t0 for t in crowd.arrivals()]
            submitter.close()
            result.update(fanout_got=len(arrivals), fanout_p50=pct(arrivals, 50), fanout_p95=pct(arrivals, 95),
                          fanout_max=max(arrivals) if arrivals else float("nan"), approve_ok=ok(answer))
        except Exception as exc:
            result["failures"].append(f"fan-out: {type(exc).__name__} {exc}"[:160])
        return result
    finally:
        crowd.close()


def run_mode(mode: str, args) -> dict:
    env = {}
    srv = Server(async_mode=mode, database_url=args.database_url, env=env)
    try:
        srv.prepare()
        srv.start()
        mod = srv.moderator(srv.login())
        mod.wait_for(lambda n, d: n == "snapshot", 15)
        result = {"mode": mode}
        t = time.perf_counter()
        result["latency"] = latency(srv, mod, args.latency_n)
        result["throughput"] = throughput(srv, mod, args.clients)
        result["capacity"] = capacity(srv, mod, args.capacity, args.capacity_budget)
        result["seconds"] = time.perf_counter() - t
        mod.close()
        return result
    except Exception as exc:
        return {"mode": mode, "error": f"{type(exc).__name__}: {exc}", "log": srv.log_tail(600)}
    finally:
        srv.close()


def table(results: list[dict], args) -> str:
    head = ("mode", "ack p50", "mod p50", "mod p95", "mod max", "ack/s", "mod/s",
            f"conn (of {args.capacity})", "conn s", "fan-out p50", "p95", "max", "got")
    rows = [head]
    for r in results:
        if "error" in r:
            rows.append((r["mode"], "error: " + r["error"][:100]) + ("",) * (len(head) - 2))
            continue
        la, th, ca = r["latency"], r["throughput"], r["capacity"]
        rows.append((r["mode"], ms(la["ack_p50"]), ms(la["p50"]), ms(la["p95"]), ms(la["max"]),
                     f"{th['ack_per_s']:.0f}", f"{th['mod_per_s']:.0f}",
                     f"{ca['connected']} ({ca['alive']} alive)", f"{ca['seconds']:.1f}",
                     ms(ca["fanout_p50"]), ms(ca["fanout_p95"]), ms(ca["fanout_max"]),
                     f"{ca['fanout_got']}/{ca['alive']}"))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--modes", default="eventlet,gevent,threading")
    p.add_argument("--latency-n", type=int, default=100, help="sequential submissions (default 100)")
    p.add_argument("--clients", type=int, default=50, help="concurrent submitting clients, 5 questions each")
    p.add_argument("--capacity", type=int, default=1500, help="WebSocket connections to try (default 1500)")
    p.add_argument("--capacity-budget", type=float, default=30.0, help="seconds to open them in (default 30)")
    p.add_argument("--database-url", default=None,
                   help="default: a fresh SQLite file per mode; a given database is migrated and seeded")
    args = p.parse_args()
    args.latency_n = max(1, min(args.latency_n, 1000))
    args.clients = max(1, min(args.clients, 400))
    args.capacity = max(1, min(args.capacity, 5000))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 2 * args.capacity + 512))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    print(f"Fragerunde bench {datetime.date.today().isoformat()} — {os.cpu_count()} CPUs, loopback, "
          f"{'SQLite (temp file)' if not args.database_url else 'given database'}; "
          f"latency n={args.latency_n}, throughput {args.clients}×{PER_CLIENT}, "
          f"capacity ≤{args.capacity} in {args.capacity_budget:.0f} s", flush=True)
    results = []
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        print(f"… {mode}", flush=True)
        r = run_mode(mode, args)
        if "error" in r:
            print(f"  {mode} failed: {r['error']}\n  server log: {r['log']}", flush=True)
        else:
            extra = r["capacity"]["failures"]
            print(f"  done in {r['seconds']:.0f} s" + (f"; connect failures e.g. {extra}" if extra else ""),
                  flush=True)
        results.append(r)
    print()
    print("times in ms; ack = submit→acknowledgement, mod = submit→moderator's event; "
          "fan-out = approve→each audience connection")
    print(table(results, args))


if __name__ == "__main__":
    main()
