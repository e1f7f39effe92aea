"""Settings from the environment, and the generated SECRET_KEY: one per installation, even when
processes start together."""
from __future__ import annotations

import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from moderation import config


def test_a_generated_key_is_kept_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = config._secret_key(tmp_path)
    assert len(first) == 64
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert config._secret_key(tmp_path) == first
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_a_process_that_loses_the_race_takes_the_winners_key(tmp_path, monkeypatch):
    """Both saw no file; the other process linked its key first (how two test workers failed CI)."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    (tmp_path / "secret_key").write_text("winner\n")
    monkeypatch.setattr(Path, "exists", lambda self: False)
    assert config._secret_key(tmp_path) == "winner"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]


def _key(path: str) -> str:
    return config._secret_key(Path(path))


def test_processes_starting_together_agree_on_one_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with ProcessPoolExecutor(4) as pool:
        keys = set(pool.map(_key, [str(tmp_path)] * 16))
    assert keys == {(tmp_path / "secret_key").read_text().strip()}


def test_the_environment_sets_the_server_timings_and_the_rest_keep_their_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("TOPICS_SECONDS", "2.5")
    monkeypatch.setenv("HEADER_TIMEOUT", "3")
    monkeypatch.delenv("IMAP_POLL_SECONDS", raising=False)
    settings = config.from_environment(tmp_path)
    assert (settings["TOPICS_SECONDS"], settings["HEADER_TIMEOUT"]) == (2.5, 3)
    assert "IMAP_POLL_SECONDS" not in settings  # DEFAULTS has it
