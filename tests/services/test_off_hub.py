"""Under eventlet and gevent, slow numpy work (encoding, drawing Themen) runs in a native thread
(`meaning.off_hub`): the hub serves other green threads meanwhile. Each mode in a fresh process,
patched first, as wsgi.py does."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

SCRIPT = """
import sys
mode = sys.argv[1]
if mode == "gevent":
    from gevent import monkey; monkey.patch_all()
    native_sleep = monkey.get_original("time", "sleep")
else:
    import eventlet; eventlet.monkey_patch()
    native_sleep = eventlet.patcher.original("time").sleep
import threading, time
from moderation.services import meaning

ticks = []
def ticker():
    for _ in range(20):
        ticks.append(time.monotonic())
        time.sleep(0.01)

def slow():
    native_sleep(0.3)  # blocks its thread: off the hub that is a native one, and the hub ticks on
    return threading.get_ident()

green = threading.Thread(target=ticker)
green.start()
t0 = time.monotonic()
native = meaning.off_hub(slow)
during = sum(t0 < t < t0 + 0.3 for t in ticks)
green.join()
print(meaning._green_hub(), during, native != threading.get_ident())
"""


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_work_off_the_hub_leaves_it_serving(mode):
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    hub, during, other_thread = done.stdout.split()
    assert hub == mode and other_thread == "True"
    assert int(during) >= 10, f"the hub ticked {during} times in 0.3 s while the work ran (blocked: 0)"
