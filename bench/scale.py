"""Fragerunde at scale (issues 11 and 26): `make bench` runs it after bench/run.py; see --help.

One run measures, per database (PostgreSQL when --postgres or TEST_DATABASE_URL is given, and
SQLite) and async mode, two paths to real servers (`python wsgi.py`, what `flask serve` runs):

* `nginx×2`: the production path as deploy/ ships it — Debian's nginx with
  deploy/nginx-fragerunde.conf in front of two server processes that share events through Redis
  (TEST_REDIS_URL or --redis), TRUSTED_PROXIES=1; the crowd connects through nginx from many
  loopback addresses (127.0.0.x), which nginx's `hash $remote_addr` spreads over both processes;
  one moderator screen on each process;
* `1 process`: the same server alone, the crowd connecting to it directly;

and next to each a bare python-socketio server (bench/bare_server.py: no database, none of the
app's work) deployed the same way: alone and reached directly beside `1 process`; two of them
over Redis behind the same nginx beside `nginx×2`, so that what nginx and Redis cost is in both
figures of a ratio.

Per path:

* vote storm: with N audience sockets connected (--sizes), 1,000 votes sent at once on ten
  approved questions; seconds until every moderator screen shows every exact count;
* question burst: 300 questions sent at once by the connected audience; seconds until every
  moderator screen has all of them;
* server CPU per 1,000 events (all server processes, from /proc) for both;
* fan-out (--fanout): approvals of questions asked beforehand, time until each connected
  audience socket has one, p50 and max, and the servers' CPU meanwhile; one approval warms up,
  the medians of --repeat more are reported, next to the bare servers' at the same size (the bare
  server of the same path in the same stage, with its own crowd connected, the two taking turns:
  between stages the machine's speed drifted by as much as the difference measured); RSS per
  connected socket (growth of the server processes); submit → moderator p50/p99 of --submissions
  questions asked one after another while the largest crowd is connected and idle (400: of 100,
  the p99 was the slowest one or two), with the events that crossed on their way to a moderator
  screen (the later number first: held, not a gap) and the resyncs;
* capacity (--capacity, nginx×2 only): that many sockets across the two processes, all
  receiving one approval; RSS per socket.

Targets (issue 26, this 2-core machine, 1,000 connected and 2,000 through nginx): votes exact on
every moderator ≤ 1.5 s after the last is sent; 300 questions on every moderator ≤ 2 s; submit →
moderator p99 ≤ 50 ms with 2,000 idle; fan-out to 2,000 ≤ 1.2× the bare server; 5,000 sockets
across two processes. Every row carries the machine's 1-minute load average when it started.

Bounded in counts and time, loopback only, RATE_LIMIT_EXEMPT for the benchmark's addresses (the
contract allows it for load tests; the per-client limits still apply, so votes and questions are
spread over the crowd). --profile DIR runs the eventlet servers under pyinstrument.
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
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import logging  # noqa: E402

import socketio  # noqa: E402
from rawclient import Crowd  # noqa: E402

from tests.server import (  # noqa: E402
    NGINX,
    PYTHON,
    Live,
    Nginx,
    Server,
    close_all,
    cookie_header,
    free_port,
    healthy,
    login,
    new_msg_id,
    ok,
    pct,
    postgres_database,
    session_from,
    through,
    wait_until,
    websocket_from,
)

logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
logging.getLogger("socketio.client").setLevel(logging.CRITICAL)

VOTES = 1000
QUESTIONS = 300
SUBMISSIONS = 400
PER_CLIENT = 5  # LIMIT_SUBMIT_PER_CLIENT
SOURCES_PER_PROCESS = 24  # loopback addresses per process behind nginx (its limit_conn: 500 each)


def chosen_id(slug: str) -> str:
    """An audience id the client chose (the contract's other way in; from the benchmark's exempt
    addresses it counts against no identity limit): no question page fetched per socket."""
    return uuid.uuid4().hex


def load() -> float:
    return os.getloadavg()[0]


# -- the server's processes, from /proc ----------------------------------------------------------
def group_usage(pgids: list[int]) -> tuple[float, int]:
    """(CPU seconds, RSS bytes) summed over every process in the given process groups."""
    tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    cpu, rss = 0.0, 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) in pgids:
                cpu += (int(fields[11]) + int(fields[12])) / tick
                rss += int(fields[21]) * page
    return cpu, rss


class Measured:
    """CPU seconds the servers spent inside the with block."""

    def __init__(self, pgids: list[int]):
        self.pgids = pgids

    def __enter__(self) -> Measured:
        self.cpu0 = group_usage(self.pgids)[0]
        return self

    def __exit__(self, *exc) -> None:
        self.cpu = group_usage(self.pgids)[0] - self.cpu0


# -- the paths under test ------------------------------------------------------------------------
class ProfiledServer(Server):
    """The server under pyinstrument (eventlet: every green thread runs in the main thread, so
    its sampler sees them all). Stopped with SIGINT: eventlet's server returns, pyinstrument
    writes its report."""

    def __init__(self, *args, profile_to: str, **kw):
        super().__init__(*args, **kw)
        self.profile_to = f"{profile_to}-{self.port}.txt"

    def command(self) -> list[str]:
        return [PYTHON, "-m", "pyinstrument", "--renderer", "session", "-o", self.profile_to + ".pyisession",
                "wsgi.py", "--host", "127.0.0.1", "--port", str(self.port)]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(600)  # writing a long session takes minutes on a loaded machine
        super().stop()
        session = self.profile_to + ".pyisession"
        if os.path.exists(session):  # a flat view: green threads split the call tree many ways
            with open(self.profile_to, "w") as out:
                subprocess.run([PYTHON, "-m", "pyinstrument", "--load", session, "-r", "text", "-p", "flat",
                                "-p", "processor_options.filter_threshold=0.005"], stdout=out, check=False)


def make_server(args, mode: str, label: str, **kw) -> Server:
    if args.profile and mode == "eventlet":
        return ProfiledServer(async_mode=mode, profile_to=str(Path(args.profile) / f"profile-{label}"), **kw)
    return Server(async_mode=mode, **kw)


class Single:
    """One server process, the crowd connecting to it directly."""

    path = "1 process"

    def __init__(self, mode: str, database_url: str | None, env: dict, args, label: str):
        self.srv = make_server(args, mode, label, database_url=database_url, env=env)
        self.servers = [self.srv]
        self.port, self.origin = self.srv.port, self.srv.origin

    def start(self) -> None:
        self.srv.prepare()
        self.srv.start(wait=90)

    def pgids(self) -> list[int]:
        return [self.srv.pid] if self.srv.pid else []

    def crowd(self) -> Crowd:
        return Crowd(self.srv.port, self.srv.origin, chosen_id)

    def audience(self) -> Live:
        return self.srv.audience(wait_timeout=30)

    def moderators(self) -> list[Live]:
        return [self.srv.moderator(self.srv.login(), wait_timeout=30)]

    def close(self) -> None:
        self.srv.close()


class Deployed:
    """deploy/: Debian's nginx in front of two processes over Redis, on one database."""

    path = "nginx×2"

    def __init__(self, mode: str, database_url: str | None, env: dict, args, label: str):
        self.tmp = Path(tempfile.mkdtemp(prefix="fr-bench-deploy-"))
        ports = (free_port(), free_port())
        (self.tmp / "nginx").mkdir()
        biggest = max([*args.sizes, *args.fanout, args.capacity])
        # each socket is two connections in nginx; its workers share them (Debian: one per CPU)
        self.front = Nginx(self.tmp / "nginx", ports, worker_connections=min(9900, 2 * biggest + 512), workers="auto")
        self.port, self.origin = self.front.port, self.front.url
        # the addresses the crowd connects from: found per process once nginx runs (start())
        self.candidates = [f"127.0.0.{i}" for i in range(2, 250)]
        env = env | {"REDIS_URL": args.redis, "REDIS_PREFIX": "bench-" + uuid.uuid4().hex[:8],
                     "TRUSTED_PROXIES": "1", "RATE_LIMIT_EXEMPT": ",".join(["127.0.0.1", *self.candidates])}
        secret = "bench-" + uuid.uuid4().hex
        (self.tmp / "a").mkdir()
        (self.tmp / "b").mkdir()
        self.a = make_server(args, mode, label, tmp=str(self.tmp / "a"), port=ports[0], public_origin=self.front.url,
                             secret_key=secret, env=env, database_url=database_url)
        self.b = make_server(args, mode, label, tmp=str(self.tmp / "b"), port=ports[1], public_origin=self.front.url,
                             secret_key=secret, env=env, database_url=self.a.database_url)
        self.b.password = self.a.password
        self.servers = [self.a, self.b]
        self.sources: dict[str, list[str]] = {}
        self.turn = 0

    def start(self) -> None:
        self.a.prepare()
        self.a.start(wait=90)
        self.b.start(wait=90)
        self.front.start()
        self.sources = sources_by_process(self.front, [s.port for s in self.servers], self.candidates)

    def pgids(self) -> list[int]:
        return [s.pid for s in self.servers if s.pid]

    def spread(self) -> list[str]:
        return spread(self.sources)

    def crowd(self) -> Crowd:
        return Crowd(self.front.port, self.front.url, chosen_id, sources=self.spread())

    def audience(self) -> Live:
        source = self.spread()[self.turn % 2]
        self.turn += 1
        return Live(through(self.front, source, self.a), "/audience",
                    {"talk": "demo", "client_id": self.a.audience_id()}, wait_timeout=30,
                    websocket_options=websocket_from(self.front, source))

    def moderators(self) -> list[Live]:
        """One moderator screen on each process."""
        screens = []
        for sources in self.sources.values():
            source = sources[0]
            session = login(through(self.front, source, self.a), session=session_from(source))
            screens.append(Live(through(self.front, source, self.a), "/moderator", {"talk": "demo"},
                                cookies=cookie_header(session), wait_timeout=30,
                                websocket_options=websocket_from(self.front, source)))
        return screens

    def close(self) -> None:
        self.front.stop()
        for server in self.servers:
            server.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def sources_by_process(front: Nginx, ports: list[int], candidates: list[str]) -> dict[str, list[str]]:
    """Loopback source addresses per upstream process, as nginx's `hash $remote_addr` assigns them."""
    found: dict[str, list[str]] = {f"127.0.0.1:{port}": [] for port in ports}
    for source in candidates:
        found[front.upstream_of(source)].append(source)
        if all(len(v) >= SOURCES_PER_PROCESS for v in found.values()):
            break
    if not all(found.values()):
        raise RuntimeError(f"nginx sent every address to one process: {found}")
    return {k: v[:SOURCES_PER_PROCESS] for k, v in found.items()}


def spread(sources: dict[str, list[str]]) -> list[str]:
    """Source addresses alternating between the processes: a crowd lands on both evenly."""
    per = list(sources.values())
    return [per[i % 2][i // 2 % len(per[i % 2])] for i in range(2 * min(len(p) for p in per))]


class Bare:
    """The bare python-socketio server (bench/bare_server.py) alone, reached directly: the
    baseline of the 1-process path."""

    path = "1 process"

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.procs = [self.spawn(self.port)]
        self.trigger_client = self.trigger(self.url)

    @staticmethod
    def spawn(port: int, *options: str) -> subprocess.Popen:
        proc = subprocess.Popen([PYTHON, str(HERE / "bare_server.py"), "--port", str(port), *options],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        if not wait_until(lambda: healthy(f"http://127.0.0.1:{port}"), 20):
            raise RuntimeError("bare server did not start")
        return proc

    @staticmethod
    def trigger(url: str) -> socketio.Client:
        client = socketio.Client()
        client.connect(url, namespaces=["/audience"], transports=["websocket"], auth={})
        return client

    def crowd(self) -> Crowd:
        return Crowd(self.port, self.url, lambda slug: uuid.uuid4().hex)

    def pgids(self) -> list[int]:
        return [proc.pid for proc in self.procs]

    def approve(self, marker: str) -> float:
        t0 = time.perf_counter()
        self.trigger_client.call("approve", {"text": marker}, namespace="/audience", timeout=30)
        return t0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.trigger_client.disconnect()
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)


class BareDeployed(Bare):
    """Two bare servers sharing broadcasts over Redis behind deploy/'s nginx, the crowd spread
    over both as on the nginx×2 path (the approval is sent to the first directly): the baseline
    of that path, so that what nginx and Redis cost is not counted against Fragerunde."""

    path = "nginx×2"

    def __init__(self, redis: str, biggest: int):
        self.tmp = Path(tempfile.mkdtemp(prefix="fr-bench-bare-"))
        ports = [free_port(), free_port()]
        channel = "bench-bare-" + uuid.uuid4().hex[:8]
        self.procs = [self.spawn(port, "--redis", redis, "--channel", channel) for port in ports]
        (self.tmp / "nginx").mkdir()
        self.front = Nginx(self.tmp / "nginx", (ports[0], ports[1]), worker_connections=min(9900, 2 * biggest + 512),
                           workers="auto")
        self.front.start()
        self.sources = sources_by_process(self.front, ports, [f"127.0.0.{i}" for i in range(2, 250)])
        self.trigger_client = self.trigger(f"http://127.0.0.1:{ports[0]}")

    def crowd(self) -> Crowd:
        return Crowd(self.front.port, self.front.url, lambda slug: uuid.uuid4().hex, sources=spread(self.sources))

    def close(self) -> None:
        super().close()
        self.front.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- scenarios -----------------------------------------------------------------------------------
def wait_all(screens: list[Live], done, timeout: float) -> bool:
    """Until done(screen) holds on every screen; False if not within timeout."""
    deadline = time.monotonic() + timeout
    return all(screen.wait_state(done, max(0.0, deadline - time.monotonic())) for screen in screens)


def ask(target, texts: list[str]) -> dict[str, int]:
    """Each text asked as a question by the audience: text -> question id."""
    submitters = [target.audience() for _ in range(math.ceil(len(texts) / PER_CLIENT))]
    ids = {}
    for i, text in enumerate(texts):
        ack = submitters[i // PER_CLIENT].call("submit", {"text": text, "client_msg_id": new_msg_id()}, timeout=30)
        if not ok(ack):
            raise RuntimeError(f"submit refused: {ack}")
        ids[text] = ack["question"]["id"]
    close_all(submitters)
    return ids


def approved_questions(target, mods: list[Live], n: int, tag: str) -> list[int]:
    ids = list(ask(target, [f"Abstimmung {tag} {i}" for i in range(n)]).values())
    for qid in ids:
        if not ok(mods[0].call("approve", {"question_id": qid})):
            raise RuntimeError("approve refused")
    if not wait_all(mods, lambda m: all(m.state.get(q, {}).get("status") == "approved" for q in ids), 15):
        seen = [{q: m.state.get(q, {}).get("status") for q in ids} for m in mods]
        raise RuntimeError(f"a moderator never saw the approvals: {seen}")
    return ids


def vote_storm(target, mods: list[Live], crowd: Crowd, qids: list[int]) -> dict:
    clients = list(crowd.clients)
    per = math.ceil(VOTES / len(clients))
    if per > len(qids):
        raise RuntimeError(f"{len(clients)} clients cannot cast {VOTES} votes on {len(qids)} questions")
    plan = [(c, qids[(k + j) % len(qids)]) for k, c in enumerate(clients) for j in range(per)][:VOTES]
    expected = collections.Counter(q for _, q in plan)
    base = {q: mods[0].state[q].get("votes", 0) for q in qids}
    result = storm(target, mods, crowd, [(lambda c=client, q=qid: c.vote(q)) for client, qid in plan],
                   lambda m: all(m.state.get(q, {}).get("votes") == base[q] + expected[q] for q in qids))
    return result | {"exact": result.pop("done")}


def screens_count(mods: list[Live]) -> list[tuple[int, int]]:
    return [(m.reordered, m.resyncs) for m in mods]


def counted_since(mods: list[Live], before: list[tuple[int, int]]) -> dict:
    """Events that crossed on their way to the screens (held until the number before them came),
    and the screens' resyncs, since `before` (screens_count)."""
    now = screens_count(mods)
    return {"reordered": sum(n[0] - b[0] for n, b in zip(now, before, strict=True)),
            "resyncs": sum(n[1] - b[1] for n, b in zip(now, before, strict=True))}


def storm(target, mods: list[Live], crowd: Crowd, sends: list, done) -> dict:
    """Send everything at once (the poller reads nothing meanwhile); seconds from the last send
    until done(screen) holds on every moderator screen, and until the last acknowledgement; the
    servers' CPU per 1,000 of them; the events that crossed on their way to a screen and its resyncs."""
    crowd.acks.clear()
    before = screens_count(mods)
    with Measured(target.pgids()) as cpu:
        with crowd.lock:
            for send in sends:
                send()
            t0 = time.perf_counter()
        complete = wait_all(mods, done, 60)
        t_mod = time.perf_counter() - t0
        wait_until(lambda: len(crowd.acks) >= len(sends), 60, 0.01)
        acks = list(crowd.acks)
    return {"n": len(sends), "done": complete, "mod_s": t_mod if complete else float("nan"),
            "acked": sum(1 for _, good in acks if good), "ack_s": max((t for t, _ in acks), default=t0) - t0,
            "cpu_ms_per_1000": cpu.cpu * 1000 / len(sends) * 1000} | counted_since(mods, before)


def question_burst(target, mods: list[Live], crowd: Crowd, tag: str) -> dict:
    clients = list(crowd.clients)
    per = math.ceil(QUESTIONS / len(clients))
    if per > PER_CLIENT:
        raise RuntimeError(f"{len(clients)} clients cannot send {QUESTIONS} questions")
    texts = [(c, f"Burst {tag} {k}.{j} {uuid.uuid4().hex[:6]}") for k, c in enumerate(clients) for j in range(per)]
    texts = texts[:QUESTIONS]
    wanted = {t for _, t in texts}
    marks = {id(m): len(m.events) for m in mods}

    def has_all(m: Live) -> bool:
        """On the screen: from `question` events, or from a resync's snapshot after a gap."""
        got = {d["question"]["text"] for _, n, d in m.events[marks[id(m)]:]
               if n == "question" and isinstance(d, dict) and isinstance(d.get("question"), dict)}
        return wanted <= got | {q.get("text") for q in m.state.values()}

    result = storm(target, mods, crowd,
                   [(lambda c=client, t=text: c.submit(t, new_msg_id())) for client, text in texts], has_all)
    return result | {"complete": result.pop("done")}


def fan_out_once(crowd: Crowd, marker: str, trigger, pgids: list[int]) -> dict:
    """trigger(marker) causes one broadcast carrying marker and returns the time it began; the
    servers' CPU from just before the trigger until the last arrival."""
    alive = crowd.alive()
    crowd.expect(marker)
    with Measured(pgids) as cpu:
        t0 = trigger(marker)
        wait_until(lambda: len(crowd.arrivals()) >= alive, 30, 0.02)
    arrivals = [t - t0 for t in crowd.arrivals()]
    return {"sockets": alive, "got": len(arrivals), "p50": pct(arrivals, 50), "p95": pct(arrivals, 95),
            "max": max(arrivals) if arrivals else float("nan"), "cpu": cpu.cpu}


def fan_out(sides: list[tuple[Crowd, list[str], Callable[[str], float], list[int]]]) -> list[dict]:
    """One broadcast per marker on each side (crowd, markers, trigger, pgids), a second apart. The
    first marker of each side warms up (a process's first question loads the sentence encoder, once
    in its life); the rest are measured in rounds that alternate the sides, and the order within a
    round (ABBA), so that a drift of the machine's speed during the stage weighs on both alike. Per
    side: the medians of the runs' p50, p95, max and server CPU, and each run's p50."""
    for crowd, texts, trigger, pgids in sides:
        fan_out_once(crowd, texts[0], trigger, pgids)
    runs: list[list[dict]] = [[] for _ in sides]
    for i in range(1, min(len(side[1]) for side in sides)):
        order = list(enumerate(sides)) if i % 2 else list(reversed(list(enumerate(sides))))
        for k, (crowd, texts, trigger, pgids) in order:
            time.sleep(1.0)
            runs[k].append(fan_out_once(crowd, texts[i], trigger, pgids))
    return [{"sockets": min(r["sockets"] for r in side), "got": min(r["got"] for r in side),
             **{k: statistics.median(r[k] for r in side) for k in ("p50", "p95", "max", "cpu")},
             "p50s": [r["p50"] for r in side]} for side in runs]


def markers(args) -> list[str]:
    """Texts to recognise one broadcast by: one to warm up, `--repeat` to measure."""
    return [f"FANOUT-{uuid.uuid4().hex[:10]}" for _ in range(1 + args.repeat)]


def submit_latency(target, mods: list[Live], n: int) -> dict:
    """n submissions one after another; submit → each moderator screen's `question` event; how many
    events crossed on their way (held until the number before them came) and how many screens resynced."""
    clients = [target.audience() for _ in range(math.ceil(n / PER_CLIENT))]
    seen = []
    before = screens_count(mods)
    for i in range(n):
        text = f"Latenz {i} {uuid.uuid4().hex[:8]}"
        marks = [len(m.events) for m in mods]
        t0 = time.perf_counter()
        clients[i // PER_CLIENT].call("submit", {"text": text, "client_msg_id": new_msg_id()}, timeout=30)
        for m, mark in zip(mods, marks, strict=True):
            ev = m.wait_for(lambda name, d, text=text: name == "question" and isinstance(d, dict)
                            and d.get("question", {}).get("text") == text, 30, start=mark)
            if ev is not None:
                seen.append(ev[0] - t0)
    close_all(clients)
    return {"n": len(seen), "p50": pct(seen, 50), "p99": pct(seen, 99)} | counted_since(mods, before)


# -- one pass: one path, database and mode ---------------------------------------------------------
class Staff:
    """The moderator screens; new ones if one was dropped (a saturated machine can miss a ping:
    that is reported with the stage, the next stage starts with fresh screens)."""

    def __init__(self, target):
        self.target = target
        self.current: list[Live] = []

    def live(self) -> list[Live]:
        if not self.current or not all(m.connected for m in self.current):
            close_all(self.current)
            self.current = self.target.moderators()
            for m in self.current:
                if not m.wait_for(lambda n, d: n == "snapshot", 30):
                    raise RuntimeError("no moderator snapshot")
        return self.current

    def close(self) -> None:
        close_all(self.current)


def stage(result: dict, name: str, run) -> None:
    """Run one part of a pass; a failure is reported and the next part still runs."""
    try:
        run()
    except Exception as exc:
        result["errors"][name] = f"{type(exc).__name__}: {exc}"[:200]


def run_pass(target_class, mode: str, db_label: str, database_url: str | None, args, bares: list[Bare]) -> dict:
    env = {"SERVER_CONNECTIONS": str(max([*args.fanout, *args.sizes, args.capacity]) + 1000)} | args.server_env
    label = f"{target_class.__name__.lower()}-{db_label.lower()}-{mode}"
    target = target_class(mode, database_url, env, args, label)
    result: dict = {"path": target.path, "mode": mode, "db": db_label, "errors": {}}
    try:
        target.start()
        staff = Staff(target)
        for size in args.sizes:
            stage(result, f"storms@{size}", lambda size=size: storms(target, staff, size, args, result))
        sizes = list(args.fanout)
        if args.capacity and isinstance(target, Deployed):
            sizes.append(args.capacity)
        for size in sizes:
            paired = bares[:1] if size != args.capacity else []
            stage(result, f"fanout@{size}",
                  lambda size=size, paired=paired: fanout_at(target, staff, size, args, result, paired))
            if size != args.capacity:
                for bare in bares[1:]:
                    stage(result, f"bare {bare.path}@{size}",
                          lambda size=size, bare=bare: bare_at(bare, size, args, result))
        staff.close()
        errors = [line for s in target.servers for line in s.log_text().splitlines()
                  if "Traceback" in line or "Error" in line]
        if errors:
            result["log_errors"] = [f"{len(errors)} lines with errors, e.g.", *(e[-400:] for e in errors[:2])]
        return result
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"[:300]
        result["log"] = " / ".join(s.log_tail(400) for s in target.servers)
        return result
    finally:
        target.close()


def storms(target, staff: Staff, size: int, args, result: dict) -> None:
    crowd = target.crowd()
    try:
        connected, _ = crowd.connect(size, args.budget)
        mods = staff.live()
        qids = approved_questions(target, mods, 10, f"{target.path}-{size}")
        time.sleep(1.0)  # the approvals' vote batches and suggestions are done
        la = load()
        result[f"votes@{size}"] = vote_storm(target, mods, crowd, qids) | {"connected": connected, "load": la}
        time.sleep(1.0)
        la = load()
        result[f"burst@{size}"] = question_burst(target, mods, crowd, f"{target.path}-{size}") | {
            "connected": connected, "load": la}
    finally:
        crowd.close()


def fanout_at(target, staff: Staff, size: int, args, result: dict, paired: list[Bare]) -> None:
    """Fan-out to `size` connected, RSS per socket and submit latency; the bare server of the same
    path (`paired`, if any) is measured in the same stage, its approvals taking turns with
    Fragerunde's, each with its own crowd of `size` connected throughout."""
    rss0 = group_usage(target.pgids())[1]
    crowds = [target.crowd()]
    try:
        connected, seconds = crowds[0].connect(size, max(args.budget, size / 40))
        time.sleep(2.0)  # let the servers settle before the RSS reading
        rss1 = group_usage(target.pgids())[1]
        sides = []
        for bare in paired:
            crowds.append(bare.crowd())
            crowds[-1].connect(size, args.budget)
            sides.append((crowds[-1], markers(args), bare.approve, bare.pgids()))
        mods = staff.live()
        # asked before any is approved, as moderators approve questions asked a while ago: what a
        # new question costs (its group commit, its vector and suggestions) is not in the figure
        texts = markers(args)
        asked = ask(target, texts)
        time.sleep(1.0)

        def approve(marker: str) -> float:
            t0 = time.perf_counter()
            mods[0].call("approve", {"question_id": asked[marker]}, timeout=30)
            return t0

        la = load()
        fo, *bare_fo = fan_out([(crowds[0], texts, approve, target.pgids()), *sides])
        for bare, figures in zip(paired, bare_fo):
            result[f"bare {bare.path}@{size}"] = figures | {"load": la, "paired": True}
        entry = {"fanout": fo, "connected": connected, "connect_s": seconds, "load": la,
                 "rss_per_socket_kb": (rss1 - rss0) / max(1, connected) / 1024, "rss_mb": rss1 / 2**20}
        result[f"fanout@{size}"] = entry
        for crowd in crowds[1:]:
            crowd.close()
        del crowds[1:]
        if size == max(args.fanout):
            time.sleep(1.0)
            entry["latency"] = submit_latency(target, mods, SUBMISSIONS) | {"load": load()}
    finally:
        for crowd in crowds:
            crowd.close()


def bare_at(bare: Bare, size: int, args, result: dict) -> None:
    crowd = bare.crowd()
    try:
        crowd.connect(size, args.budget)
        (fo,) = fan_out([(crowd, markers(args), bare.approve, bare.pgids())])
        result[f"bare {bare.path}@{size}"] = fo | {"load": load()}
    finally:
        crowd.close()


# -- report --------------------------------------------------------------------------------------
def s(x: float) -> str:
    return "—" if x != x else f"{x:.2f}"


def ms(x: float) -> str:
    return "—" if x != x else f"{x * 1000:.0f}"


def report(results: list[dict], args) -> str:
    out = [f"| path | db | mode | connected | load | {VOTES:,} votes: exact on every moderator s (≤ 1.5) "
           f"| acked / last ack s | CPU ms per 1,000 votes | load | {QUESTIONS} questions: on every moderator s "
           "(≤ 2) | acked / last ack s | CPU ms per 1,000 questions | crossed / resyncs |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            out.append(f"| {r['path']} | {r['db']} | {r['mode']} | error: {r['error']} | | | | | | | | | |")
        for size in args.sizes:
            v, b = r.get(f"votes@{size}"), r.get(f"burst@{size}")
            if not v or not b:
                continue
            out.append(f"| {r['path']} | {r['db']} | {r['mode']} | {v['connected']} | {v['load']:.1f} | "
                       f"{s(v['mod_s'])} | {v['acked']}/{v['n']} in {s(v['ack_s'])} | {v['cpu_ms_per_1000']:.0f} | "
                       f"{b['load']:.1f} | {s(b['mod_s'])} | {b['acked']}/{b['n']} in {s(b['ack_s'])} | "
                       f"{b['cpu_ms_per_1000']:.0f} | {v['reordered'] + b['reordered']} / "
                       f"{v['resyncs'] + b['resyncs']} |")
    out += ["", f"Fan-out: medians over {args.repeat} approvals after one to warm up; the bare server on the same "
            "path (nginx×2: two bare servers over Redis behind the same nginx) in the same stage, its approvals "
            "taking turns with Fragerunde's, each with its own crowd connected throughout; and alone "
            "(1 process), after it.", "",
            "| path | db | mode | sockets | load | fan-out p50 ms | p95 | max | got | p50 of each approval ms "
            "(the bare server's beside it) "
            "| server CPU ms | bare, same path p50 / max ms | bare CPU ms | ratio p50 / max (≤ 1.2) "
            "| ratio p50 to the bare 1 process "
            "| RSS per socket kB | RSS MB | submit→moderator p50 / p99 ms (≤ 50) | crossed / resyncs | load |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for size in [*args.fanout, args.capacity]:
            f = r.get(f"fanout@{size}")
            if not f:
                continue
            bare, alone = r.get(f"bare {r['path']}@{size}"), r.get(f"bare {Bare.path}@{size}")
            fo = f["fanout"]
            lat = f.get("latency")
            bare_ms = f"{ms(bare['p50'])} / {ms(bare['max'])}" if bare else "—"
            ratio = f"{fo['p50'] / bare['p50']:.2f} / {fo['max'] / bare['max']:.2f}" if bare else "—"
            to_alone = f"{fo['p50'] / alone['p50']:.2f}" if alone else "—"
            each = " ".join(ms(x) for x in fo.get("p50s", []))
            if bare and bare.get("paired"):
                each = " ".join(f"{ms(x)} ({ms(y)})" for x, y in zip(fo["p50s"], bare["p50s"], strict=True))
            out.append(f"| {r['path']} | {r['db']} | {r['mode']} | {f['connected']} | {f['load']:.1f} | "
                       f"{ms(fo['p50'])} | {ms(fo['p95'])} | {ms(fo['max'])} | {fo['got']}/{fo['sockets']} | "
                       f"{each} | {ms(fo['cpu'])} | {bare_ms} | {ms(bare['cpu']) if bare else '—'} | {ratio} | "
                       f"{to_alone} | "
                       f"{f['rss_per_socket_kb']:.0f} | {f['rss_mb']:.0f} | "
                       + (f"{ms(lat['p50'])} / {ms(lat['p99'])} (n={lat['n']}) | {lat['reordered']} / "
                          f"{lat['resyncs']} | {lat['load']:.1f} |" if lat else "— | | |"))
    for r in results:
        for name, message in r.get("errors", {}).items():
            out.append(f"\n{r['path']}, {r['db']}, {r['mode']}, {name}: {message}")
        if r.get("log_errors"):
            out.append(f"\nserver log ({r['path']}, {r['db']}, {r['mode']}): " + " / ".join(r["log_errors"]))
        if r.get("log"):
            out.append(f"\nserver log ({r['path']}, {r['db']}, {r['mode']}): {r['log']}")
    return "\n".join(out)


def main() -> None:
    global VOTES, QUESTIONS, SUBMISSIONS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--paths", default="nginx,single", help="nginx (nginx×2), single (1 process); default both")
    p.add_argument("--modes", default="eventlet", help="async modes, comma-separated (default eventlet)")
    p.add_argument("--sizes", default="1000,2000", help="connected audience for the storms (default 1000,2000)")
    p.add_argument("--fanout", default="2000",
                   help="connected audience for fan-out, memory and submit latency (default 2000; empty: none)")
    p.add_argument("--capacity", type=int, default=5000,
                   help="sockets across both processes behind nginx, all getting an approval (default 5000; 0: none)")
    p.add_argument("--repeat", type=int, default=10,
                   help="approvals measured per fan-out, after one to warm up; medians reported (default 10)")
    p.add_argument("--budget", type=float, default=60.0, help="seconds to connect a crowd in (default 60)")
    p.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"),
                   help="a PostgreSQL URL; a fresh database next to it per pass (default TEST_DATABASE_URL)")
    p.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL"),
                   help="Redis for the processes behind nginx (default TEST_REDIS_URL)")
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--votes", type=int, default=VOTES, help=f"votes per storm (default {VOTES})")
    p.add_argument("--questions", type=int, default=QUESTIONS, help=f"questions per burst (default {QUESTIONS})")
    p.add_argument("--submissions", type=int, default=SUBMISSIONS,
                   help=f"questions asked one after another for submit → moderator (default {SUBMISSIONS})")
    p.add_argument("--quick", action="store_true",
                   help="a quick look: storms with 200 connected, fan-out at 500, no capacity run")
    p.add_argument("--server-env", metavar="NAME=VALUE", action="append", default=[],
                   help="a setting for the Fragerunde servers, e.g. SIMILAR_BACKEND=lexical (repeatable)")
    p.add_argument("--profile", metavar="DIR", help="run the eventlet servers under pyinstrument; reports to DIR")
    args = p.parse_args()
    if args.quick:
        args.sizes, args.fanout, args.capacity = "200", "500", 0
    VOTES, QUESTIONS = max(10, min(args.votes, 5000)), max(10, min(args.questions, 1500))
    SUBMISSIONS = max(10, min(args.submissions, 2000))
    args.sizes = [max(10, min(int(x), 3000)) for x in str(args.sizes).split(",") if x.strip()]
    args.fanout = [max(10, min(int(x), 4000)) for x in str(args.fanout).split(",") if x.strip()]
    args.capacity = max(0, min(args.capacity, 6000))
    args.repeat = max(1, min(args.repeat, 20))
    args.server_env = dict(item.split("=", 1) for item in args.server_env if "=" in item)
    paths = {"nginx": Deployed, "single": Single}
    chosen = [paths[x.strip()] for x in args.paths.split(",") if x.strip()]
    if Deployed in chosen and not (args.redis and os.access(NGINX, os.X_OK)):
        print("nginx×2 skipped: needs Redis (TEST_REDIS_URL or --redis) and " + NGINX, flush=True)
        chosen.remove(Deployed)
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 2 * max([*args.fanout, *args.sizes, args.capacity]) + 1024))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    print(f"Fragerunde scale bench {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC — "
          f"{platform.node()}, {os.cpu_count()} CPUs, {platform.python_version()}, loopback, open files {want}; "
          f"storms at {args.sizes} connected, fan-out at {args.fanout}, capacity {args.capacity}; "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    dbs: list[tuple[str, str | None]] = []
    if args.postgres:
        dbs.append(("PostgreSQL", args.postgres))
    if not args.no_sqlite:
        dbs.append(("SQLite", None))
    bares: dict[type, list[Bare]] = {}
    if args.fanout:
        alone = Bare()
        bares = {Single: [alone], Deployed: [alone]}
        if Deployed in chosen:
            bares[Deployed] = [BareDeployed(args.redis, max(args.fanout)), alone]
    results = []
    try:
        for db_label, base_url in dbs:
            for target_class in chosen:
                for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
                    print(f"… {target_class.path} {db_label} {mode} (load {load():.2f})", flush=True)
                    t = time.perf_counter()
                    if base_url:
                        with postgres_database(base_url, prefix="bench") as url:
                            r = run_pass(target_class, mode, db_label, url, args, bares.get(target_class, []))
                    else:
                        r = run_pass(target_class, mode, db_label, None, args, bares.get(target_class, []))
                    print(f"  {time.perf_counter() - t:.0f} s, load {load():.2f}"
                          + (f"; {r['error']}" if "error" in r else ""), flush=True)
                    results.append(r)
    finally:
        for bare in {b for each in bares.values() for b in each}:
            bare.close()
    print()
    print(report(results, args))


if __name__ == "__main__":
    main()
