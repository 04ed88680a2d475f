"""The one error the compose package raises: the input is not a compose file it can read."""

from __future__ import annotations


class ComposeError(ValueError):
    """Invalid compose file, `.env`, project name or path map; `line` is 1-based when known,
    `file` the path of the file it is in when known (a project of several files)."""

    def __init__(self, message: str, line: int | None = None, file: str = "") -> None:
        where = f"{file}:{line}: " if file and line is not None else f"{file}: " if file else ""
        if not file and line is not None:
            where = f"line {line}: "
        super().__init__(where + message)
        self.message = message
        self.line = line
        self.file = file

    def in_file(self, file: str) -> ComposeError:
        """The same error naming `file`, unless it already names one."""
        return self if self.file else ComposeError(self.message, self.line, file)
