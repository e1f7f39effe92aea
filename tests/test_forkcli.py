"""The tests' CLI commands run in forked children (tests/forkcli.py): each as `python -m` would run
it, with only the environment, working directory and arguments it is given."""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.forkcli import ForkServer

SHOW = "import os, sys; print(os.getcwd(), sys.argv[1:], sorted(os.environ)); sys.exit(int(sys.argv[1]))"


@pytest.fixture(scope="module")
def fork_server():
    server = ForkServer()
    yield server
    server.close()


def test_a_child_sees_only_its_environment_directory_and_arguments(fork_server, tmp_path):
    module = tmp_path / "show.py"
    module.write_text(SHOW)
    done = fork_server.run("show", ["0"], env={"PYTHONPATH": str(tmp_path), "ONLY": "1"}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{tmp_path} ['0'] ['ONLY', 'PYTHONPATH']\n"
    assert "ONLY" not in os.environ


def test_exit_status_output_and_a_traceback_come_back(fork_server, tmp_path):
    (tmp_path / "show.py").write_text(SHOW)
    (tmp_path / "broken.py").write_text("print('vorher')\nraise ValueError('kaputt')\n")
    env = {"PYTHONPATH": str(tmp_path)}
    assert fork_server.run("show", ["3"], env=env, cwd=tmp_path).returncode == 3
    broken = fork_server.run("broken", [], env=env, cwd=tmp_path)
    assert (broken.returncode, broken.stdout) == (1, "vorher\n")
    assert broken.stderr.rstrip().endswith("ValueError: kaputt")


def test_a_child_that_cannot_start_says_why(fork_server, tmp_path):
    missing = fork_server.run("show", [], env={}, cwd=tmp_path / "nicht-da")
    assert missing.returncode == 1 and "FileNotFoundError" in missing.stderr


def test_a_child_that_overruns_its_time_is_killed_and_the_next_runs(fork_server, tmp_path):
    (tmp_path / "slow.py").write_text("import time\ntime.sleep(30)\n")
    (tmp_path / "show.py").write_text(SHOW)
    env = {"PYTHONPATH": str(tmp_path)}
    with pytest.raises(subprocess.TimeoutExpired):
        fork_server.run("slow", [], env=env, cwd=tmp_path, timeout=0.5)
    assert fork_server.run("show", ["0"], env=env, cwd=tmp_path).returncode == 0
