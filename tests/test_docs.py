"""README.md and docs/protocol.md name the settings and limits the code has, with the code's
defaults (`moderation/config.py`, DEFAULTS): a changed default or a renamed setting fails here
until the documentation says it too."""
from __future__ import annotations

import re
from pathlib import Path

from moderation import config

ROOT = Path(__file__).resolve().parents[1]
DOCS = {name: (ROOT / name).read_text() for name in ("README.md", "docs/protocol.md")}
WINDOW = r"\d+ per (?:\d+ )?(?:second|minute|hour|day)s?"
RATE = re.compile(rf"({WINDOW}(?:; {WINDOW})*)[^()`|]{{0,40}}\(`([A-Z_]+)`\)")  # 5 per minute (`LIMIT_…`)
AMOUNT = re.compile(r"`([A-Z_]+)`\s+(?:\(|=\s+)(\d[\d,.]*)( KiB)?")  # `HEADER_TIMEOUT` (30 s), `X` = 0.25 s
SIZE = re.compile(r"(\d+) KiB\s+\(`([A-Z_]+)`")  # 16 KiB (`SOCKET_MAX_BUFFER`
ROW = re.compile(r"^\| `([A-Z_]+)` \| `([^`]+)` \|", re.M)  # | `LIMIT_…` | `5 per minute` | … |
DEFAULT_IN_ROW = re.compile(r"^\| `([A-Z_]+)` \|[^\n]*?default (\d[\d,.]*)", re.M)  # | `X` | …; default 30


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("."))


def env_names() -> set[str]:
    """The names config.py reads from the environment."""
    source = (ROOT / "moderation/config.py").read_text()
    return set(re.findall(r'os\.environ(?:\.get)?[(\[]"([A-Z_]+)"', source)) | set(config.SERVER_SETTINGS) \
        | set(config.LOGIN_SETTINGS)


def test_the_rate_limit_table_names_every_limit_with_its_default():
    readme = DOCS["README.md"]
    table = readme[readme.index("### Rate limits"):readme.index("### The audience id")]
    rows = dict(ROW.findall(table))
    limits = {k for k in config.DEFAULTS if k.startswith(("LIMIT_", "LOGIN_"))}
    assert set(rows) == limits
    for name, value in rows.items():
        assert value == str(config.DEFAULTS[name]), name


def test_every_documented_figure_is_the_code_s_default():
    checked = 0
    for doc, text in DOCS.items():
        for value, name in RATE.findall(text):
            assert config.DEFAULTS.get(name) == value, (doc, name, value)
            checked += 1
        for name, value, kib in AMOUNT.findall(text):
            if name in config.DEFAULTS and not isinstance(config.DEFAULTS[name], str):
                expected = config.DEFAULTS[name] / (1024 if kib else 1)
                assert number(value) == expected, (doc, name, value)
                checked += 1
        for value, name in SIZE.findall(text):
            assert int(value) * 1024 == config.DEFAULTS[name], (doc, name, value)
            checked += 1
        for name, value in DEFAULT_IN_ROW.findall(text):
            assert number(value) == config.DEFAULTS[name], (doc, name, value)
            checked += 1
    assert checked >= 22  # the patterns still find the figures the documents give


def test_every_documented_setting_exists():
    known = set(config.DEFAULTS) | env_names()
    for doc, text in DOCS.items():
        named = set(re.findall(r"`((?:LIMIT|LOGIN)_[A-Z_]+)`", text))
        assert named <= set(config.DEFAULTS), (doc, named - set(config.DEFAULTS))
        # durations, timeouts and addresses are settings wherever they are named
        named = set(re.findall(r"`([A-Z][A-Z_]*_(?:SECONDS|TIMEOUT|URL))`", text)) - {"TEST_DATABASE_URL", "TEST_REDIS_URL"}
        assert named <= known, (doc, named - known)
    readme = DOCS["README.md"]
    configuration = readme[readme.index("## Configuration"):readme.index("### Rate limits")]
    for name in re.findall(r"^\| `([A-Z_]+)`", configuration, re.M):
        assert name in known, name
