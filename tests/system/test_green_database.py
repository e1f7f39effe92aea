"""Under eventlet and gevent, a PostgreSQL query that waits (here for a lock) leaves the server
process to everyone else: psycopg's C wait called poll() itself, and no green thread got past it
until PostgreSQL answered (wsgi.py makes psycopg wait through eventlet's green select; psycopg
finds gevent's patched select by itself)."""
from __future__ import annotations

import threading
import time

import psycopg
import pytest
import requests

from tests.helpers import require_or_skip
from tests.server import postgres_database, wait_until

pytestmark = [pytest.mark.server, pytest.mark.postgres]


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_a_query_waiting_for_postgresql_does_not_stop_the_green_server(make_server, mode):
    with postgres_database(require_or_skip("TEST_DATABASE_URL", "PostgreSQL")) as url:
        srv = make_server(database_url=url, async_mode=mode).start()
        with psycopg.connect(url) as locker:
            locker.execute("LOCK TABLE talk IN ACCESS EXCLUSIVE MODE")
            answers: list[int] = []
            page = threading.Thread(target=lambda: answers.append(
                requests.get(srv.url + "/t/demo", timeout=60).status_code))
            page.start()
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            with psycopg.connect(url, autocommit=True) as watcher:
                assert wait_until(lambda: watcher.execute(waiting).fetchone()[0] >= 1, 20), \
                    "the audience page never waited for the lock"
            t0 = time.monotonic()
            assert requests.get(srv.url + "/static/css/app.css", timeout=10).status_code == 200
            took = time.monotonic() - t0
            assert page.is_alive(), "the page did not wait for the lock"
            locker.rollback()
        page.join(30)
        assert answers == [200], answers
        # blocked, the static file would have waited for the lock's release (10 s and more)
        assert took < 2, f"a static file took {took:.2f} s while one query waited for PostgreSQL"
        srv.close()
