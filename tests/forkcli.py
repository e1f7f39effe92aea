"""`python -m <module> <args>` for the tests, in a child forked from a process that has imported the
app's modules once: a CLI command then costs its own work (a fifth of a second) instead of a
second of imports, and the suite starts about forty of them.

The child runs the module as `python -m` would (`runpy`, `__main__`, `sys.argv`) in the given
working directory with exactly the given environment, standard input empty, and gives back its exit
status, standard output and standard error. Nothing the app reads from the environment is read at
import (moderation/config.py reads it in create_app), and `wsgi`, which creates the app, is
imported by each child itself. Serving processes never come from here: under eventlet and gevent
the standard library must be patched before anything is imported (wsgi.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _preload() -> None:
    import importlib
    import pkgutil
    import warnings

    warnings.filterwarnings("ignore", message="\\s*Eventlet is deprecated")  # as wsgi.py does before its imports
    import moderation
    for found in pkgutil.walk_packages(moderation.__path__, "moderation."):
        importlib.import_module(found.name)
    importlib.import_module("engineio.async_drivers.eventlet")  # ASYNC_MODE's default, as the CLI loads it


def _child(request: dict, out: int, err: int) -> None:
    import runpy
    import traceback
    code = 1
    try:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [request["module"], *request["args"]]
        python_path = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:1] = [request["cwd"], *python_path]  # where `python -m` looks first
        try:
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as stopped:
            if stopped.code is None or isinstance(stopped.code, int):
                code = stopped.code or 0
            else:
                print(stopped.code, file=sys.stderr)
        except BaseException:  # reported as python -m would, with its traceback
            traceback.print_exc()
    except BaseException:  # the child could not be set up (a missing directory): say why
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _serve() -> None:
    """Read one request per line on stdin, answer one line on stdout."""
    _preload()
    replies = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        out_fd, out_path = tempfile.mkstemp(prefix="forkcli-out-")
        err_fd, err_path = tempfile.mkstemp(prefix="forkcli-err-")
        replies.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, out_fd, err_fd)
        os.close(out_fd)
        os.close(err_fd)
        deadline = time.monotonic() + request["timeout"]
        status = None
        while status is None:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(raw)
            elif time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                status = "timeout"
            else:
                time.sleep(0.005)
        reply = {"returncode": status}
        for name, path in (("stdout", out_path), ("stderr", err_path)):
            reply[name] = Path(path).read_text(errors="replace")
            os.remove(path)
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


class ForkServer:
    """The forking process of one test process, started on first use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None

    def run(self, module: str, args: list[str], env: dict[str, str], cwd: Path = ROOT,
            timeout: float = 120) -> subprocess.CompletedProcess:
        """Like subprocess.run([python, "-m", module, *args], capture_output=True, text=True)."""
        request = json.dumps({"module": module, "args": args, "env": env, "cwd": str(cwd), "timeout": timeout})
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.proc = subprocess.Popen([sys.executable, "-m", "tests.forkcli"], cwd=ROOT, stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, text=True)
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.write(request + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fork server ended")
        reply = json.loads(line)
        argv = [sys.executable, "-m", module, *args]
        if reply["returncode"] == "timeout":
            raise subprocess.TimeoutExpired(argv, timeout, reply["stdout"], reply["stderr"])
        return subprocess.CompletedProcess(argv, reply["returncode"], reply["stdout"], reply["stderr"])

    def close(self) -> None:
        """End the forking process (it also ends by itself when its test process does)."""
        with self.lock:
            if self.proc is not None:
                self.proc.communicate(timeout=10)  # its standard input closes: it has read all
                self.proc = None


forked = ForkServer()


if __name__ == "__main__":
    _serve()
