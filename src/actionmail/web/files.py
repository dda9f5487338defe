"""Writing the site where a web server may be serving it at that moment.

Each file is written to a temporary file beside it and renamed over the old one (an atomic replace on POSIX
file systems): a reader gets the old file or the new one, never half of either. A file that already holds the
same bytes is left alone, so its modification time says when it last changed, and a sync to a host (rsync,
``aws s3 sync``) uploads only what did.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from actionmail.errors import ActionmailError, shown
from actionmail.web.paths import inside

MODE = 0o644  # a web server running as another user reads the files


def write(output: Path, file: PurePosixPath, data: bytes) -> bool:
    """Put ``data`` in ``output``/``file`` in one step; False when the file held exactly that already."""
    target = inside(output, file)
    try:
        if target.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as e:  # a directory where the file goes, say
        raise _cannot(target, e) from None
    temporary = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        os.chmod(temporary, MODE)
        os.replace(temporary, target)
    except OSError as e:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise _cannot(target, e) from None
    return True


def remove(output: Path, files: Iterable[str]) -> list[Path]:
    """Delete these files of an earlier build, and the directories they leave empty; the files removed."""
    removed = []
    for file in sorted(files):
        target = inside(output, PurePosixPath(file))
        try:
            target.unlink()
        except FileNotFoundError:
            continue
        except OSError as e:
            raise ActionmailError(f"can't remove {shown(target)}: {e.strerror}: remove it by hand") from None
        removed.append(target)
        for directory in target.parents:
            if directory == output:
                break
            try:
                directory.rmdir()
            except OSError:  # not empty: it holds other pages
                break
    return removed


def _cannot(target: Path, error: OSError) -> ActionmailError:
    return ActionmailError(f"can't write {shown(target)}: {error.strerror}: check that the directory can be written to")
