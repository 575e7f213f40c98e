"""Writing files so that a crash, a full disk or a kill never leaves a half-written one behind.

Each file is written to a temporary file in the same directory, flushed to disk, and renamed over
the target (a rename within a directory is atomic): the target holds either the old contents or the
new ones.  Temporary files are named ``.<stem>-<random>.<suffix>.tmp``; a killed writer leaves one
behind, which :func:`remove_temporaries` clears.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

TEMPORARY_SUFFIX = ".tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(stream)`` on a temporary file beside ``path``, fsync it, then rename it to ``path``.

    The file gets the usual permissions (0666 less the umask), not mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-",
                                         suffix=f"{path.suffix}{TEMPORARY_SUFFIX}")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def atomic_savez(path, arrays: dict[str, np.ndarray]) -> Path:
    """``np.savez`` of ``arrays`` to ``path``, atomically."""
    return atomic_write(path, lambda stream: np.savez(stream, **arrays))


def _json_ready(value):
    """NaN and inf (not valid JSON) as None; numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path, data) -> Path:
    """``data`` as indented, valid JSON (NaN and inf written as null), atomically."""
    text = json.dumps(_json_ready(data), indent=2, allow_nan=False)
    return atomic_write(path, lambda stream: stream.write(text.encode()))


def write_text(path, text: str) -> Path:
    return atomic_write(path, lambda stream: stream.write(text.encode()))


def remove_temporaries(folder) -> list[Path]:
    """Delete the temporary files that killed writers left in ``folder`` and its subfolders; return them."""
    found = [p for p in Path(folder).rglob(f".*{TEMPORARY_SUFFIX}") if p.is_file()]
    for path in found:
        path.unlink(missing_ok=True)
    return found
