"""What a user can fix, as one exception family.

The command line prints a `UserError` as one `error: …` line with exit status 2 and no traceback; any other
exception is a bug in thinktrim and keeps its traceback. `--debug` (or `THINKTRIM_DEBUG=1`) shows the traceback
of user errors too. `UserError` is a ValueError, so code that caught ValueError around a check still does.

This module is a leaf: it imports nothing else of thinktrim.
"""

from __future__ import annotations

import os

DEBUG_ENV = "THINKTRIM_DEBUG"


class UserError(ValueError):
    """Bad input, a bad setting or an environment to fix: its message is one line saying what and where."""


def debug_enabled() -> bool:
    """Whether tracebacks of user errors are wanted (`--debug` sets the variable, so relaunched workers see it)."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")
