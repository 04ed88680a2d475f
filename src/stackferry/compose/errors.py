"""The one error the compose package raises: the input is not a compose file it can read."""

from __future__ import annotations


class ComposeError(ValueError):
    """Invalid compose file, `.env`, project name or path map; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line
