from __future__ import annotations


class DomainError(Exception):
    """A refusal the person should read about: `code` is from the public contract."""

    def __init__(self, code: str, detail: dict | None = None):
        super().__init__(code)
        self.code = code
        self.detail = detail or {}
