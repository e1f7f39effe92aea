"""Structured logs: one JSON line per event, ids and codes only — no question texts, no addresses."""
from __future__ import annotations

import json
import logging
import sys

from flask import Flask

_FIELDS = ("event", "ns", "code", "talk", "question", "user", "action", "state", "count")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                "logger": record.name, "msg": record.getMessage()}
        line.update({key: getattr(record, key) for key in _FIELDS if hasattr(record, key)})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(app: Flask) -> None:
    logger = logging.getLogger("fragerunde")
    if not any(isinstance(h.formatter, JsonLines) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLines())
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    # Werkzeug's access log would write every visitor's address: not kept.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
