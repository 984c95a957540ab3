"""Writing output files safely: never half-written, never over an input.

Owns: `atomic_path`, the one way this package writes a file (JSON, npz, PNG, MP4, checkpoints,
model downloads): the writer fills a temporary file beside the target, which replaces the target
only once it is complete (`os.replace`, atomic on one file system). An interruption (SIGINT, a
full disk, an exception) leaves an existing file as it was and no temporary file behind. And
`same_file`, which tells whether an output path names one of the inputs however it is spelt
(relative or absolute, `..`, a symbolic or hard link), so that the CLI refuses it before any work.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from typing import Any, Iterator


def same_file(a: str, b: str) -> bool:
    """Whether paths `a` and `b` name one file: the same inode when both exist, else the same
    resolved path (symbolic links, `.` and `..` followed)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


class AtomicFile:
    """A new, empty temporary file beside `path` (`tmp`), for a writer to fill; `commit` renames
    it over `path`, `discard` removes it. The temporary name keeps the target's extension
    (`.OUT.tmp3f9a1c2e.png`), because OpenCV picks the format from it and numpy's savez appends
    .npz to a name without it. A symbolic link at `path` is followed: its target is replaced."""

    def __init__(self, path: str) -> None:
        self.path = os.path.realpath(path)
        folder, name = os.path.split(self.path)
        stem, ext = os.path.splitext(name)
        os.makedirs(folder, exist_ok=True)
        while True:
            tmp = os.path.join(folder, f".{stem}.tmp{secrets.token_hex(4)}{ext}")
            try:  # created exclusively, with the permissions the umask gives a new file
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
                break
            except FileExistsError:
                continue
        self.tmp = tmp
        self._open = True

    def commit(self) -> None:
        """Put the complete temporary file in place of `path` (keeping the permissions of a file
        it replaces); on failure the temporary file is removed and the error raised."""
        if not self._open:
            return
        try:
            if os.path.exists(self.path):
                os.chmod(self.tmp, stat.S_IMODE(os.stat(self.path).st_mode))
            os.replace(self.tmp, self.path)
            self._open = False
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Remove the temporary file; `path` stays as it was."""
        if not self._open:
            return
        self._open = False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path to write `path`'s new contents to; on a normal exit it replaces
    `path`, on any exception (KeyboardInterrupt included) it is removed and `path` is untouched.

        with atomic_path("out.npz") as tmp:
            np.savez(tmp, a=a)
    """
    f = AtomicFile(path)
    try:
        yield f.tmp
    except BaseException:
        f.discard()
        raise
    f.commit()


def write_json(path: str, doc: Any, indent: Any = None) -> None:
    """Write `doc` as JSON to `path`, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        json.dump(doc, fh, indent=indent)
