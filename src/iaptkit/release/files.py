"""File helpers of a release: atomic writes, the usual permissions, checksums, pickling.

Everything a release writes (``release.json``, output files, the bundle's manifest and report)
goes through :func:`write_atomic`, so a reader never sees a half-written file and a failed
write leaves the old file in place. Files and folders made through temporary names get the
mode an ordinary ``open``/``mkdir`` would give them under the process's umask.
"""

from __future__ import annotations

import contextlib
import copyreg
import hashlib
import io
import os
import pickle
import tempfile
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "current_umask",
    "folder_mode",
    "pickle_bytes",
    "sha256_file",
    "write_atomic",
]


def current_umask() -> int:
    """The process's file mode creation mask (read without changing it).

    Examples
    --------
    >>> 0 <= current_umask() <= 0o777
    True
    """
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def folder_mode() -> int:
    """The mode ``mkdir`` gives a new folder under the current umask (``mkdtemp`` gives 0700)."""
    return 0o777 & ~current_umask()


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file's bytes, read in chunks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = file.write_bytes(b"abc")
    >>> sha256_file(file)[:12]
    'ba7816bf8f01'
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    path
        The file to write; its folder is created when missing.
    data
        The whole content.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "sub" / "a.txt"
    >>> write_atomic(file, b"hello")
    >>> file.read_bytes(), [p.name for p in file.parent.iterdir()]
    (b'hello', ['a.txt'])
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600; give the usual file mode
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def mapping_proxy(data: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    """Rebuild a read-only mapping when unpickling (see :func:`pickle_bytes`)."""
    return MappingProxyType(data)


def pickle_bytes(obj: Any) -> bytes:
    """Pickle, also handling read-only mappings (``MappingProxyType``) inside frozen objects.

    Examples
    --------
    >>> import pickle
    >>> from types import MappingProxyType
    >>> pickle.loads(pickle_bytes({"m": MappingProxyType({"a": 1})}))["m"]["a"]
    1
    """
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    table = copyreg.dispatch_table.copy()
    table[MappingProxyType] = lambda m: (mapping_proxy, (dict(m),))
    pickler.dispatch_table = table
    pickler.dump(obj)
    return buffer.getvalue()
