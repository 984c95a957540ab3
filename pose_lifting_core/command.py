"""How a command-line entry point reports: the one rule of `pose-lifting` and `fetch_models`.

Owns: an argparse parser whose errors are one line (not usage + error) with exit status 2, and
running a command so that an expected failure is one line `PROG: error: MESSAGE` with exit
status 2 and an interruption `PROG: interrupted` with 130. In the runtime package because
`ros2 run pose_lifting fetch_models` (detection/models.py) uses it without the tooling.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Optional, Tuple, Type


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, `PROG: error: MESSAGE`, exit status 2."""

    def error(self, message: str) -> None:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def run_command(
    prog: str,
    call: Callable[[], Optional[int]],
    expected: Tuple[Type[BaseException], ...],
    debug: bool = False,
) -> int:
    """call()'s exit status (None is 0); an `expected` exception is one line on stderr and 2
    (raised as it is with `debug`, for the traceback), KeyboardInterrupt one line and 130."""
    try:
        return int(call() or 0)
    except expected as exc:
        if debug:
            raise
        msg = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{prog}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
