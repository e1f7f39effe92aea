"""Fragerunde at scale (issue 11): `make bench` runs it after bench/run.py; see --help.

Per database (SQLite; PostgreSQL when --postgres or TEST_DATABASE_URL is given) and async mode
(eventlet, threading), one real server (`flask --app wsgi serve`) on a free loopback port:

* vote storm: with 100 and with 1,000 audience sockets connected, 1,000 votes sent at once on
  ten approved questions; seconds until the moderator's screen shows every exact count, and
  until the last acknowledgement;
* question burst: 300 questions sent at once by the connected audience; seconds until all are
  acknowledged and until all are on the moderator's screen;
* server CPU time per 1,000 events (all of the server's processes, from /proc) for both;
* fan-out (SQLite pass only: one approval, no database work to speak of): with 1,000 and
  2,000 sockets connected, time until each audience socket has the approved question, p50 —
  next to a bare python-socketio server (bench/bare_server.py) measured in the same run;
* memory per connected socket (RSS growth of the server's processes over the largest crowd)
  and submit → moderator p50/p99 while that crowd is connected.

Targets (issue 11, this 2-core machine, 1,000 connected): votes exact within 2 s; 300
questions acknowledged and on the moderator's screen within 3 s; fan-out p50 ≤ 1.3× bare;
submit → moderator p99 < 250 ms with the largest crowd connected.

Bounded in counts and time, loopback only, RATE_LIMIT_EXEMPT=127.0.0.1 (the contract allows it
for load tests; the per-client limits still apply, so votes and questions are spread over
the crowd). --profile DIR runs the eventlet server under pyinstrument and writes its report.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import math
import os
import platform
import resource
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

import logging  # noqa: E402

import socketio  # noqa: E402
from rawclient import Crowd  # noqa: E402
from server import PYTHON, Server, close_all, free_port, new_msg_id, ok, pct, postgres_database, wait_until  # noqa: E402

logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
logging.getLogger("socketio.client").setLevel(logging.CRITICAL)

VOTES = 1000
QUESTIONS = 300
PER_CLIENT = 5  # LIMIT_SUBMIT_PER_CLIENT


# -- the server's processes, from /proc ----------------------------------------------------------
def group_usage(pgid: int) -> tuple[float, int]:
    """(CPU seconds, RSS bytes) summed over every process in the process group."""
    tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    cpu, rss = 0.0, 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                cpu += (int(fields[11]) + int(fields[12])) / tick
                rss += int(fields[21]) * page
    return cpu, rss


class Measured:
    """CPU seconds the server spent between start() and stop()."""

    def __init__(self, pgid: int):
        self.pgid = pgid

    def __enter__(self) -> Measured:
        self.cpu0 = group_usage(self.pgid)[0]
        return self

    def __exit__(self, *exc) -> None:
        self.cpu = group_usage(self.pgid)[0] - self.cpu0


# -- scenarios -----------------------------------------------------------------------------------
def approved_questions(srv: Server, mod, n: int, tag: str) -> list[int]:
    submitters = [srv.audience() for _ in range(math.ceil(n / PER_CLIENT))]
    ids = []
    for i in range(n):
        ack = submitters[i // PER_CLIENT].call("submit", {"text": f"Abstimmung {tag} {i}",
                                                          "client_msg_id": new_msg_id()})
        if not ok(ack):
            raise RuntimeError(f"submit refused: {ack}")
        qid = ack["question"]["id"]
        if not ok(mod.call("approve", {"question_id": qid})):
            raise RuntimeError("approve refused")
        ids.append(qid)
    close_all(submitters)
    if not mod.wait_state(lambda m: all(m.state.get(q, {}).get("status") == "approved" for q in ids), 15):
        raise RuntimeError("the moderator never saw the approvals")
    return ids


def vote_storm(srv: Server, mod, crowd: Crowd, qids: list[int]) -> dict:
    clients = list(crowd.clients)
    per = math.ceil(VOTES / len(clients))
    if per > len(qids):
        raise RuntimeError(f"{len(clients)} clients cannot cast {VOTES} votes on {len(qids)} questions")
    plan = [(c, qids[(k + j) % len(qids)]) for k, c in enumerate(clients) for j in range(per)][:VOTES]
    expected = collections.Counter(q for _, q in plan)
    base = {q: mod.state[q].get("votes", 0) for q in qids}
    result = storm(srv, mod, crowd, [(lambda c=client, q=qid: c.vote(q)) for client, qid in plan],
                   lambda m: all(m.state[q].get("votes") == base[q] + expected[q] for q in qids))
    return result | {"exact": result.pop("done")}


def storm(srv: Server, mod, crowd: Crowd, sends: list, done) -> dict:
    """Send everything at once (the poller reads nothing meanwhile); seconds until done(mod) holds
    and until the last acknowledgement; the server's CPU per 1,000 of them."""
    crowd.acks.clear()
    with Measured(srv.pid) as cpu:
        t0 = time.perf_counter()
        with crowd.lock:
            for send in sends:
                send()
        complete = mod.wait_state(done, 60)
        t_mod = time.perf_counter() - t0
        wait_until(lambda: len(crowd.acks) >= len(sends), 60, 0.01)
        acks = list(crowd.acks)
    return {"n": len(sends), "done": complete, "mod_s": t_mod if complete else float("nan"),
            "acked": sum(1 for _, good in acks if good), "ack_s": max((t for t, _ in acks), default=t0) - t0,
            "cpu_ms_per_1000": cpu.cpu * 1000 / len(sends) * 1000}


def question_burst(srv: Server, mod, crowd: Crowd, tag: str) -> dict:
    clients = list(crowd.clients)
    per = math.ceil(QUESTIONS / len(clients))
    if per > PER_CLIENT:
        raise RuntimeError(f"{len(clients)} clients cannot send {QUESTIONS} questions")
    texts = [(c, f"Burst {tag} {k}.{j} {uuid.uuid4().hex[:6]}") for k, c in enumerate(clients) for j in range(per)]
    texts = texts[:QUESTIONS]
    wanted = {t for _, t in texts}
    mark = len(mod.events)

    def moderator_has_all(m) -> bool:
        """On the screen: from `question` events, or from a resync's snapshot after a gap."""
        got = {d["question"]["text"] for _, n, d in m.events[mark:]
               if n == "question" and isinstance(d, dict) and isinstance(d.get("question"), dict)}
        return wanted <= got | {q.get("text") for q in m.state.values()}

    result = storm(srv, mod, crowd, [(lambda c=client, t=text: c.submit(t, new_msg_id())) for client, text in texts],
                   moderator_has_all)
    return result | {"complete": result.pop("done")}


def fan_out(crowd: Crowd, trigger) -> dict:
    """trigger(marker) causes one broadcast carrying marker and returns the time it began."""
    marker = f"FANOUT-{uuid.uuid4().hex[:10]}"
    alive = crowd.alive()
    crowd.expect(marker)
    t0 = trigger(marker)
    wait_until(lambda: len(crowd.arrivals()) >= alive, 30, 0.02)
    arrivals = [t - t0 for t in crowd.arrivals()]
    return {"sockets": alive, "got": len(arrivals), "p50": pct(arrivals, 50), "p95": pct(arrivals, 95),
            "max": max(arrivals) if arrivals else float("nan")}


def submit_latency(srv: Server, mod, n: int = 60) -> dict:
    clients = [srv.audience() for _ in range(math.ceil(n / PER_CLIENT))]
    seen = []
    for i in range(n):
        text = f"Latenz {i} {uuid.uuid4().hex[:8]}"
        mark = len(mod.events)
        t0 = time.perf_counter()
        clients[i // PER_CLIENT].call("submit", {"text": text, "client_msg_id": new_msg_id()}, timeout=30)
        ev = mod.wait_for(lambda name, d, text=text: name == "question" and isinstance(d, dict)
                          and d.get("question", {}).get("text") == text, 30, start=mark)
        if ev is not None:
            seen.append(ev[0] - t0)
    close_all(clients)
    return {"n": len(seen), "p50": pct(seen, 50), "p99": pct(seen, 99)}


# -- servers -------------------------------------------------------------------------------------
class ProfiledServer(Server):
    """The server under pyinstrument (eventlet: every green thread runs in the main thread, so
    its sampler sees them all). Stopped with SIGINT: eventlet's server returns, pyinstrument
    writes its report."""

    def __init__(self, *args, profile_to: str, **kw):
        super().__init__(*args, **kw)
        self.profile_to = profile_to

    def command(self) -> list[str]:
        return [PYTHON, "-m", "pyinstrument", "--renderer", "session", "-o", self.profile_to + ".pyisession",
                "wsgi.py", "--host", "127.0.0.1", "--port", str(self.port)]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(60)
        super().stop()
        session = self.profile_to + ".pyisession"
        if os.path.exists(session):  # a flat view: green threads split the call tree many ways
            with open(self.profile_to, "w") as out:
                subprocess.run([PYTHON, "-m", "pyinstrument", "--load", session, "-r", "text", "-p", "flat",
                                "-p", "processor_options.filter_threshold=0.005"], stdout=out, check=False)


class Bare:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([PYTHON, str(HERE / "bare_server.py"), "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        if not wait_until(self._up, 20):
            raise RuntimeError("bare server did not start")
        self.trigger_client = socketio.Client()
        self.trigger_client.connect(self.url, namespaces=["/audience"], transports=["websocket"], auth={})

    def _up(self) -> bool:
        import requests
        with contextlib.suppress(requests.RequestException):
            return requests.get(self.url + "/socket.io/?EIO=4&transport=polling", timeout=1).status_code == 200
        return False

    def approve(self, marker: str) -> float:
        t0 = time.perf_counter()
        self.trigger_client.call("approve", {"text": marker}, namespace="/audience", timeout=30)
        return t0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.trigger_client.disconnect()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(10)


def run_pass(mode: str, db_label: str, database_url: str | None, args, bare: Bare | None) -> dict:
    env = {"SERVER_CONNECTIONS": str(max(args.fanout + args.sizes) + 1000)}
    if args.profile and mode == "eventlet":
        out = str(Path(args.profile) / f"profile-{db_label.lower()}-{mode}.txt")
        srv: Server = ProfiledServer(async_mode=mode, database_url=database_url, env=env, profile_to=out)
    else:
        srv = Server(async_mode=mode, database_url=database_url, env=env)
    result: dict = {"mode": mode, "db": db_label, "errors": {}}
    try:
        srv.prepare()
        srv.start(wait=90)
        staff = Staff(srv)
        for size in args.sizes:
            stage(result, f"storms@{size}", lambda size=size: storms(srv, staff.live(), size, args, result))
        if bare is not None:
            for size in args.fanout:
                stage(result, f"fanout@{size}", lambda size=size: fanout_at(srv, staff.live(), size, args, result))
                stage(result, f"bare@{size}", lambda size=size: bare_at(bare, size, args, result))
        staff.close()
        errors = [line for line in srv.log_text().splitlines() if "Traceback" in line or "Error" in line]
        result["log_errors"] = errors[:5]
        return result
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"[:300]
        result["log"] = srv.log_tail(800)
        return result
    finally:
        srv.close()


class Staff:
    """The moderator's screen; a new one if the last was dropped (a saturated machine can miss
    a ping: that is reported with the stage, the next stage starts with a fresh screen)."""

    def __init__(self, srv: Server):
        self.srv = srv
        self.session = srv.login()
        self.current = None

    def live(self):
        if self.current is None or not self.current.connected:
            if self.current is not None:
                self.current.close()
            self.current = self.srv.moderator(self.session, wait_timeout=30)
            if not self.current.wait_for(lambda n, d: n == "snapshot", 30):
                raise RuntimeError("no moderator snapshot")
        return self.current

    def close(self) -> None:
        if self.current is not None:
            self.current.close()


def stage(result: dict, name: str, run) -> None:
    """Run one part of a pass; a failure is reported and the next part still runs."""
    try:
        run()
    except Exception as exc:
        result["errors"][name] = f"{type(exc).__name__}: {exc}"[:200]


def storms(srv: Server, mod, size: int, args, result: dict) -> None:
    crowd = Crowd(srv.port, srv.origin, srv.audience_id)
    try:
        connected, _ = crowd.connect(size, args.budget)
        qids = approved_questions(srv, mod, 10, f"{srv.async_mode}-{size}")
        result[f"votes@{size}"] = vote_storm(srv, mod, crowd, qids) | {"connected": connected}
        result[f"burst@{size}"] = question_burst(srv, mod, crowd, f"{srv.async_mode}-{size}") | {"connected": connected}
    finally:
        crowd.close()


def fanout_at(srv: Server, mod, size: int, args, result: dict) -> None:
    rss0 = group_usage(srv.pid)[1]
    crowd = Crowd(srv.port, srv.origin, srv.audience_id)
    try:
        connected, seconds = crowd.connect(size, args.budget)
        time.sleep(1.0)  # let the server settle before the RSS reading
        rss1 = group_usage(srv.pid)[1]
        submitter = srv.audience(wait_timeout=30)

        def approve(marker: str) -> float:
            ack = submitter.call("submit", {"text": marker, "client_msg_id": new_msg_id()}, timeout=30)
            t0 = time.perf_counter()
            mod.call("approve", {"question_id": ack["question"]["id"]}, timeout=30)
            return t0

        fo = fan_out(crowd, approve)
        submitter.close()
        entry = {"fanout": fo, "connected": connected, "connect_s": seconds,
                 "rss_per_socket_kb": (rss1 - rss0) / max(1, connected) / 1024, "rss_mb": rss1 / 2**20}
        result[f"fanout@{size}"] = entry
        if size == max(args.fanout):
            entry["latency"] = submit_latency(srv, mod)
    finally:
        crowd.close()


def bare_at(bare: Bare, size: int, args, result: dict) -> None:
    crowd = Crowd(bare.port, bare.url, lambda slug: uuid.uuid4().hex)
    try:
        crowd.connect(size, args.budget)
        result[f"bare@{size}"] = fan_out(crowd, bare.approve)
    finally:
        crowd.close()


# -- report --------------------------------------------------------------------------------------
def s(x: float) -> str:
    return "—" if x != x else f"{x:.2f}"


def ms(x: float) -> str:
    return "—" if x != x else f"{x * 1000:.0f}"


def report(results: list[dict], args) -> str:
    out = [f"| db | mode | connected | {VOTES:,} votes: exact on moderator s (target ≤ 2) | acked / last ack s "
           f"| CPU ms per 1,000 votes | {QUESTIONS} questions: on moderator s (target ≤ 3) | acked / last ack s "
           "| CPU ms per 1,000 questions |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            out.append(f"| {r['db']} | {r['mode']} | error: {r['error']} | | | | | | |")
        for size in args.sizes:
            v, b = r.get(f"votes@{size}"), r.get(f"burst@{size}")
            if not v or not b:
                continue
            out.append(f"| {r['db']} | {r['mode']} | {v['connected']} | {s(v['mod_s'])} | {v['acked']}/{v['n']} in "
                       f"{s(v['ack_s'])} | {v['cpu_ms_per_1000']:.0f} | {s(b['mod_s'])} | {b['acked']}/{b['n']} in "
                       f"{s(b['ack_s'])} | {b['cpu_ms_per_1000']:.0f} |")
    out += ["", "| mode | sockets | fan-out p50 ms | p95 | max | got | bare p50 ms | bare p95 "
            "| ratio p50 (target ≤ 1.3) | RSS per socket kB | RSS MB "
            "| submit→moderator p50 / p99 ms (target p99 < 250) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for size in args.fanout:
            f, bare = r.get(f"fanout@{size}"), r.get(f"bare@{size}")
            if not f or not bare:
                continue
            fo = f["fanout"]
            lat = f.get("latency")
            out.append(f"| {r['mode']} | {f['connected']} | {ms(fo['p50'])} | {ms(fo['p95'])} | {ms(fo['max'])} | "
                       f"{fo['got']}/{fo['sockets']} | {ms(bare['p50'])} | {ms(bare['p95'])} | "
                       f"{fo['p50'] / bare['p50']:.2f} | {f['rss_per_socket_kb']:.0f} | {f['rss_mb']:.0f} | "
                       + (f"{ms(lat['p50'])} / {ms(lat['p99'])} |" if lat else "— |"))
    for r in results:
        for name, message in r.get("errors", {}).items():
            out.append(f"\n{r['db']}, {r['mode']}, {name}: {message}")
        if r.get("log_errors"):
            out.append(f"\nserver log ({r['db']}, {r['mode']}): " + " / ".join(r["log_errors"]))
        if r.get("log"):
            out.append(f"\nserver log ({r['db']}, {r['mode']}): {r['log']}")
    return "\n".join(out)


def main() -> None:
    global VOTES, QUESTIONS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--modes", default="eventlet,threading")
    p.add_argument("--sizes", default="100,1000", help="connected audience for the storms (default 100,1000)")
    p.add_argument("--fanout", default="1000,2000",
                   help="connected audience for the fan-out (default 1000,2000; empty: none)")
    p.add_argument("--budget", type=float, default=60.0, help="seconds to connect a crowd in (default 60)")
    p.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"),
                   help="a PostgreSQL URL; a fresh database next to it per pass (default TEST_DATABASE_URL)")
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--votes", type=int, default=VOTES, help=f"votes per storm (default {VOTES})")
    p.add_argument("--questions", type=int, default=QUESTIONS, help=f"questions per burst (default {QUESTIONS})")
    p.add_argument("--profile", metavar="DIR", help="run the eventlet server under pyinstrument; reports to DIR")
    args = p.parse_args()
    VOTES, QUESTIONS = max(10, min(args.votes, 5000)), max(10, min(args.questions, 1500))
    args.sizes = [max(10, min(int(x), 3000)) for x in args.sizes.split(",") if x.strip()]
    args.fanout = [max(10, min(int(x), 4000)) for x in args.fanout.split(",") if x.strip()]
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * max(args.fanout + args.sizes) + 1024))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    print(f"Fragerunde scale bench {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC — "
          f"{platform.node()}, {os.cpu_count()} CPUs, {platform.python_version()}, loopback; "
          f"storms at {args.sizes} connected, fan-out at {args.fanout}", flush=True)
    dbs: list[tuple[str, str | None]] = [] if args.no_sqlite else [("SQLite", None)]
    if args.postgres:
        dbs.append(("PostgreSQL", args.postgres))
    bare = Bare() if args.fanout else None
    results = []
    try:
        for db_label, base_url in dbs:
            for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
                print(f"… {db_label} {mode}", flush=True)
                t = time.perf_counter()
                pass_bare = bare if db_label == "SQLite" or args.no_sqlite else None
                if base_url:
                    with postgres_database(base_url, prefix="bench") as url:
                        r = run_pass(mode, db_label, url, args, pass_bare)
                else:
                    r = run_pass(mode, db_label, None, args, pass_bare)
                print(f"  {time.perf_counter() - t:.0f} s" + (f"; {r['error']}" if "error" in r else ""), flush=True)
                results.append(r)
    finally:
        if bare:
            bare.close()
    print()
    print(report(results, args))


if __name__ == "__main__":
    main()
