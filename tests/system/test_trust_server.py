"""Against real server processes: X-Forwarded-For through TRUSTED_PROXIES, and access that ends on
every process at once, through Redis (a logout, a new password, a removed moderator, a demoted
admin, a renewed podium link)."""
from __future__ import annotations

import re
import time
import uuid

import pytest
import requests
import socketio

from tests.helpers import require_or_skip
from tests.server import Live, Server, form_fields, has_question, new_msg_id, ok, wait_until

pytestmark = pytest.mark.server


def ask(client, text: str) -> dict:
    return client.call("submit", {"text": text, "client_msg_id": new_msg_id()})


def through_proxy(srv: Server, client_address: str):
    """An audience socket as a reverse proxy hands it on: X-Forwarded-For on every request."""
    headers = {"X-Forwarded-For": client_address}
    return srv.audience(client_id=srv.audience_id(headers=headers), headers=headers)


# -- finding 3: the real address behind proxies ------------------------------------------------------
@pytest.mark.parametrize("mode", ["eventlet", "threading"])
def test_trusted_proxy_limits_each_client_address_on_sockets_and_pages(make_server, mode):
    srv = make_server(async_mode=mode, env={
        "TRUSTED_PROXIES": "1", "RATE_LIMIT_EXEMPT": "", "LIMIT_SUBMIT_PER_ADDRESS": "3 per minute",
        "LIMIT_IDENTITY_PER_ADDRESS": "5 per minute"}).start()
    office = [through_proxy(srv, "203.0.113.1") for _ in range(4)]
    answers = [ask(client, f"Aus dem Büro {i} {uuid.uuid4().hex[:6]}") for i, client in enumerate(office)]
    assert [a.get("ok") for a in answers] == [True, True, True, False], answers
    assert answers[-1]["error"] == "rate_limited"
    assert ok(ask(through_proxy(srv, "198.51.100.9"), "Jemand anderes hinter demselben Proxy"))
    # pages: four ids went to 203.0.113.1 above; its sixth new identity waits, another address does not
    def page(address: str) -> int:
        return requests.get(f"{srv.url}/t/demo", headers={"X-Forwarded-For": address}, timeout=10).status_code

    assert [page("203.0.113.1"), page("203.0.113.1")] == [200, 429]
    assert page("203.0.113.2") == 200


def test_without_trusted_proxies_a_forged_x_forwarded_for_is_ignored(make_server):
    srv = make_server(env={"RATE_LIMIT_EXEMPT": "", "LIMIT_SUBMIT_PER_ADDRESS": "3 per minute"}).start()
    forged = [through_proxy(srv, f"198.51.100.{i}") for i in range(4)]
    answers = [ask(client, f"Gefälschte Adresse {i}") for i, client in enumerate(forged)]
    assert [a.get("ok") for a in answers] == [True, True, True, False], answers


# -- finding 5: sessions end everywhere ------------------------------------------------------------
def logout(srv: Server, session: requests.Session) -> None:
    page = session.get(f"{srv.url}/moderate/demo", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = session.post(f"{srv.url}/logout", data={"csrf_token": token}, timeout=10,
                     headers={"Origin": srv.origin}, allow_redirects=False)
    assert r.status_code == 303, r.status_code


def disconnected(client, timeout: float = 10) -> bool:
    return client.wait_state(lambda c: c.disconnects >= 1, timeout)


def refused_everywhere(servers: list[Server], session: requests.Session) -> None:
    """The old cookie opens nothing any more: page, export, a new socket."""
    for srv in servers:
        for path in ("/moderate/demo", "/moderate/demo/export.csv"):
            r = session.get(srv.url + path, timeout=10, allow_redirects=False)
            assert r.status_code in (302, 303, 401), (srv.port, path, r.status_code)
        with pytest.raises(socketio.exceptions.ConnectionError):
            srv.moderator(session)


@pytest.fixture
def two_processes(make_server):
    redis_url = require_or_skip("TEST_REDIS_URL", "Redis")
    secret = "shared-" + uuid.uuid4().hex
    env = {"REDIS_URL": redis_url, "SESSION_SWEEP_SECONDS": "0"}  # only the queue may end the sessions here
    a = make_server(env=env, secret_key=secret)
    b = make_server(database_url=a.database_url, prepare=False, env=env, secret_key=secret)
    return a.start(), b.start()


def test_logout_on_one_process_disconnects_the_sockets_on_the_other(two_processes):
    a, b = two_processes
    a.cli("create-user", "kollegin", "--password", "Kollegin-geheim-1", "--role", "moderator")
    session = a.login()
    mine_a, mine_b = a.moderator(session), b.moderator(session)
    colleague_b = b.moderator(b.login("kollegin", "Kollegin-geheim-1"))
    for client in (mine_a, mine_b, colleague_b):
        assert client.wait_for(lambda n, d: n == "snapshot", 10)

    logout(a, session)
    assert disconnected(mine_a) and disconnected(mine_b), "a socket on the other process stayed open"
    text = f"Nach dem Abmelden {uuid.uuid4().hex[:6]}"
    assert ok(ask(a.audience(), text))
    assert colleague_b.wait_for(has_question(text, "pending"), 10), "the colleague's socket was closed too"
    assert not mine_b.wait_for(has_question(text), 0.5)
    assert colleague_b.disconnects == 0
    refused_everywhere([a, b], session)


@pytest.mark.parametrize("command", [
    ("create-user", "srv_mod", "--password", "Ganz-neues-Passwort-1", "--role", "admin"),   # password reset
    ("create-user", "srv_mod", "--password", "Ganz-neues-Passwort-1", "--role", "moderator"),  # role change
    ("reset-password", "srv_mod"),
])
def test_a_password_reset_or_role_change_on_the_command_line_ends_every_session(two_processes, command):
    a, b = two_processes
    session = a.login()
    on_a, on_b = a.moderator(session), b.moderator(session)
    for client in (on_a, on_b):
        assert client.wait_for(lambda n, d: n == "snapshot", 10)
    out = a.cli(*command)
    assert disconnected(on_a) and disconnected(on_b), out
    refused_everywhere([a, b], session)
    password = re.search(r": (\S+)$", out.strip()).group(1) if command[0] == "reset-password" else command[3]
    assert b.moderator(b.login(password=password)).wait_for(lambda n, d: n == "snapshot", 10)


def test_without_redis_a_command_line_reset_still_ends_open_sockets(make_server):
    """One process, no queue: the CLI cannot reach the server; the session sweep closes the socket."""
    srv = make_server().start()
    session = srv.login()
    mod = srv.moderator(session)
    assert mod.wait_for(lambda n, d: n == "snapshot", 10)
    srv.cli("reset-password", srv.user)
    assert disconnected(mod, timeout=15), "the sweep did not close the socket of a reset account"
    refused_everywhere([srv], session)
    assert wait_until(lambda: mod.disconnects == 1, 1)


# -- access that ends on one process ends on the other within 2 s ------------------------------------
PW = "Kollegin-geheim-1"


def admin_post(srv: Server, session: requests.Session, page: str, action: str, **changes) -> None:
    """Send a form of an admin page as a browser would, with some fields changed (a list: all values)."""
    fields = form_fields(session.get(srv.url + page, timeout=10).text, action)
    assert fields, f"no form posting to {action} on {page}"
    data = [(name, value) for name, value in fields if name not in changes]
    for name, value in changes.items():
        data += [(name, v) for v in (value if isinstance(value, list) else [value])]
    r = session.post(srv.url + action, data=data, headers={"Origin": srv.origin}, timeout=10, allow_redirects=False)
    assert r.status_code == 303, (action, r.status_code)


def account_id(srv: Server, session: requests.Session, name: str) -> str:
    page = session.get(f"{srv.url}/admin/users", timeout=10).text
    return re.search(r'<span id="user-(\d+)" class="visually-hidden">' + re.escape(name) + "</span>", page).group(1)


def ended_within(client, why: str, seconds: float = 2.0) -> float:
    """How long until the socket heard `session_ended {why}` and was closed (at most `seconds`)."""
    start = time.monotonic()
    heard = client.wait_for(lambda n, d: n == "session_ended", seconds)
    assert heard is not None, "the socket heard no session_ended"
    assert heard[2] == {"why": why}, heard[2]
    assert client.wait_state(lambda c: c.disconnects >= 1, max(0.1, seconds - (time.monotonic() - start)))
    return time.monotonic() - start


def hears_nothing_more(client, *, after: int) -> None:
    assert [e[1] for e in client.events[after:] if e[1] not in ("session_ended",)] == []


def test_a_moderator_removed_from_the_talk_on_one_process_is_cut_off_on_the_other(two_processes):
    a, b = two_processes
    a.cli_each(*[("create-user", name, "--password", PW, "--role", "moderator") for name in ("kollegin", "bleibt")])
    admin = a.login()
    ids = {name: account_id(a, admin, name) for name in ("kollegin", "bleibt")}
    admin_post(a, admin, "/admin/talks/demo", "/admin/talks/demo", moderators=list(ids.values()))
    removed, stays = (b.moderator(b.login(name, PW)) for name in ("kollegin", "bleibt"))
    for client in (removed, stays):
        assert client.wait_for(lambda n, d: n == "snapshot", 10)

    admin_post(a, admin, "/admin/talks/demo", "/admin/talks/demo", moderators=[ids["bleibt"]])
    ended_within(removed, "removed")
    mark = len(removed.events)
    text = f"Nach dem Entfernen {uuid.uuid4().hex[:6]}"
    assert ok(ask(a.audience(), text))
    assert stays.wait_for(has_question(text, "pending"), 10), "the one who stays hears on"
    hears_nothing_more(removed, after=mark)
    assert stays.disconnects == 0


def test_an_admin_demoted_on_one_process_loses_the_talks_of_others_on_the_other(two_processes):
    a, b = two_processes
    a.cli_each(("create-user", "bleibt", "--password", PW, "--role", "moderator"),
               ("create-user", "zweite", "--password", PW, "--role", "admin"))
    admin = a.login()
    admin_post(a, admin, "/admin/talks/demo", "/admin/talks/demo", moderators=[account_id(a, admin, "bleibt")])
    zweite = b.login("zweite", PW)
    on_demo, on_wohnen = b.moderator(zweite), b.moderator(zweite, slug="wohnen")  # wohnen: nobody assigned
    for client in (on_demo, on_wohnen):
        assert client.wait_for(lambda n, d: n == "snapshot", 10)

    user = account_id(a, admin, "zweite")
    admin_post(a, admin, "/admin/users", f"/admin/users/{user}/role", role="moderator")
    ended_within(on_demo, "role")
    mark = len(on_demo.events)
    assert ok(ask(a.audience(), f"Nach der Herabstufung {uuid.uuid4().hex[:6]}"))
    time.sleep(0.5)  # what would have reached it has reached the colleague's socket by now
    hears_nothing_more(on_demo, after=mark)
    assert on_wohnen.connected and on_wohnen.disconnects == 0


def test_a_podium_link_renewed_on_one_process_closes_the_screens_on_the_other(two_processes):
    a, b = two_processes
    token = a.podium_token()
    screen = b.podium(token)
    overlay = Live(b, "/podium", {"token": token, "overlay": True})
    for client in (screen, overlay):
        assert client.wait_for(lambda n, d: n == "snapshot", 10)
    admin = a.login()
    admin_post(a, admin, "/admin/talks/demo", "/admin/talks/demo/podium")
    for client in (screen, overlay):
        ended_within(client, "podium_link")
    mark = len(screen.events)
    moderator = a.moderator(admin)
    assert ok(moderator.call("backstage", {"text": "Noch 5 Minuten"}))
    time.sleep(0.5)
    hears_nothing_more(screen, after=mark)
    with pytest.raises(socketio.exceptions.ConnectionError):
        b.podium(token)
