"""What a user can fix, as one exception family, and the one place the command line reports it.

The command line prints a `UserError` as one `error: …` line with exit status 2 and no traceback; so is an
OSError the environment raised (a read-only folder, a full disk, permission denied), named by its file. Any
other exception is a bug in thinktrim and keeps its traceback. `--debug` (or `THINKTRIM_DEBUG=1`) shows the
traceback of user errors too. `UserError` is a ValueError, so code that caught ValueError around a check still
does; code that turns a failure into a friendlier message catches `UserError`, so a bug is never dressed up as
bad input.

This module is a leaf: it imports nothing else of thinktrim.
"""

from __future__ import annotations

import contextlib
import errno
import os
import traceback
from collections.abc import Iterator
from typing import NoReturn

DEBUG_ENV = "THINKTRIM_DEBUG"
EXIT_USER_ERROR = 2  # the status of every bad input, as click gives a bad option


class UserError(ValueError):
    """Bad input, a bad setting or an environment to fix: its message is one line saying what and where."""


class MissingExtra(UserError, ImportError):
    """An optional dependency is not installed: the message gives the `pip install` that adds it. Still an
    ImportError, for code that falls back when a package is absent."""


def debug_enabled() -> bool:
    """Whether tracebacks of user errors are wanted (`--debug` sets the variable, so relaunched workers see it)."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def os_error_message(e: OSError) -> str:
    """`FILE: reason` for an OSError (the file or files it names, the system's reason, a hint for a full disk)."""
    names = " -> ".join(str(f) for f in (e.filename, e.filename2) if f is not None)
    what = f"{names}: " if names else ""
    hint = " (the disk is full)" if e.errno == errno.ENOSPC else ""
    return f"{what}{e.strerror or e}{hint}"


def exit_user_error(e: BaseException, message: str | None = None) -> NoReturn:
    """Report a user error and exit 2: its traceback first when debugging, then `error: <message>` as one line
    on stderr (the message defaults to the exception's own)."""
    if debug_enabled():
        traceback.print_exception(type(e), e, e.__traceback__)
    if message is None:
        message = os_error_message(e) if isinstance(e, OSError) else str(e)
    import typer  # here, not above: the library raises these errors without loading the command line

    typer.secho("error: " + " ".join(message.split()), fg="red", err=True)  # plain where stderr is no terminal
    raise SystemExit(EXIT_USER_ERROR)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """The command line's one handler: a `UserError` or an OSError becomes one line and exit 2 (a broken pipe
    is left to click, which exits quietly); everything else goes on up with its traceback."""
    try:
        yield
    except UserError as e:
        exit_user_error(e)
    except OSError as e:
        if e.errno == errno.EPIPE:
            raise
        exit_user_error(e)
