"""The seal of an export: sha256 of every file (manifest.json and results.json included), signed
with Ed25519 so that a re-computed hash cannot pass ``iaptkit release verify``.

``seal.json`` (written last by ``iaptkit release build``)::

    {"format": "iaptkit-seal/1", "algorithm": "Ed25519" | null, "public_key": hex | null,
     "key_fingerprint": hex | null, "files": {name: sha256}, "results_content": sha256,
     "signature": hex | null}

The signature covers the canonical JSON of every field but ``signature``. ``results_content`` is
the sha256 of results.json's canonical JSON without the fields the SACRO viewer adds when a checker
reviews (:data:`REVIEW_FIELDS`), so verify can tell a reviewer's decisions from tampering.

Keys: ``iaptkit release keygen`` writes a PEM private key (mode 0600) and its public key beside it
(``.pub``), by default under ``~/.config/iaptkit/`` (:func:`default_key_path`), never inside an
export. The public key travels inside ``seal.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from iaptkit.errors import ReleaseError

__all__ = [
    "REVIEW_FIELDS",
    "SEAL_FORMAT",
    "SEAL_NAME",
    "canonical",
    "default_key_path",
    "generate_key",
    "key_fingerprint",
    "load_private_key",
    "load_public_key",
    "make_seal",
    "results_content_digest",
    "seal_signature_ok",
]

SEAL_FORMAT = "iaptkit-seal/1"
SEAL_NAME = "seal.json"
#: fields the SACRO viewer adds to results.json on review: top level, per record, per file
REVIEW_FIELDS: Mapping[str, frozenset[str]] = {
    "top": frozenset({"reviewer_summary", "review_timestamp", "reviewer"}),
    "record": frozenset({"review", "reviewer", "reviewer_comment"}),
    "file": frozenset({"url", "checksum", "checksum_valid", "cell_index"}),
}


def canonical(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces) of ``value``.

    Examples
    --------
    >>> canonical({"b": 1, "a": [1, 2]})
    b'{"a":[1,2],"b":1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def default_key_path() -> Path:
    """The default private key: ``$IAPTKIT_KEY`` or ``~/.config/iaptkit/release-key.pem``.

    Examples
    --------
    >>> default_key_path().name.endswith(".pem")
    True
    """
    env = os.environ.get("IAPTKIT_KEY")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".config" / "iaptkit" / "release-key.pem"


def _public_hex(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def key_fingerprint(public_hex: str) -> str:
    """Short fingerprint of a public key (first 16 hex of its sha256).

    Examples
    --------
    >>> len(key_fingerprint("00" * 32))
    16
    """
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:16]


def generate_key(path: str | Path, *, overwrite: bool = False) -> tuple[Path, str]:
    """Write a new Ed25519 private key (PEM, mode 0600) and ``PATH.pub``; return path, fingerprint.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> key, fp = generate_key(pathlib.Path(tempfile.mkdtemp()) / "k.pem")
    >>> oct(key.stat().st_mode & 0o777), len(fp)
    ('0o600', 16)
    """
    key = Path(path).expanduser()
    if key.exists() and not overwrite:
        raise ReleaseError(
            f"Expected no key at {key}; found one. Keep it (builds sign with it) or give "
            "another path with --key."
        )
    key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    os.chmod(key, 0o600)
    public_hex = _public_hex(private.public_key())
    key.with_name(key.name + ".pub").write_text(public_hex + "\n", encoding="utf-8")
    return key, key_fingerprint(public_hex)


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """Read a private key written by :func:`generate_key` (refused if others can read it)."""
    key = Path(path).expanduser()
    if not key.is_file():
        raise ReleaseError(
            f"Expected a signing key at {key}; found none. Make one with "
            "'iaptkit release keygen' or build with --unsigned."
        )
    if key.stat().st_mode & 0o077:
        raise ReleaseError(
            f"Signing key {key} is readable by others (mode {oct(key.stat().st_mode & 0o777)}); "
            f"expected 0600: chmod 600 {key}."
        )
    try:
        loaded = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ReleaseError(f"Expected an Ed25519 PEM key at {key}; found: {exc}") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ReleaseError(f"Expected an Ed25519 key at {key}; found {type(loaded).__name__}.")
    return loaded


def load_public_key(path: str | Path) -> str:
    """A public key as hex: a ``.pub`` file from keygen, or the private key itself."""
    key = Path(path).expanduser()
    if not key.is_file():
        raise ReleaseError(f"Expected a public key file at {key}; found none.")
    text = key.read_text(encoding="utf-8").strip()
    if text.startswith("-----BEGIN PRIVATE KEY"):
        return _public_hex(load_private_key(key).public_key())
    try:
        if len(bytes.fromhex(text)) == 32:
            return text.lower()
    except ValueError:
        pass
    raise ReleaseError(f"Expected a 64-hex-digit Ed25519 public key in {key}; found {text[:20]!r}.")


def results_content_digest(results: Any) -> str:
    """sha256 of results.json's content without the fields a SACRO viewer review adds.

    Examples
    --------
    >>> a = {"version": "1", "results": {"x": {"status": "pass", "files": [{"name": "x.csv"}]}}}
    >>> b = {"version": "1", "reviewer": "me", "results": {"x": {"status": "pass",
    ...      "files": [{"name": "x.csv", "checksum_valid": True}]}}}
    >>> results_content_digest(a) == results_content_digest(b)
    True
    """
    if not isinstance(results, dict):
        return hashlib.sha256(canonical(results)).hexdigest()
    top = {k: v for k, v in results.items() if k not in REVIEW_FIELDS["top"]}
    records = top.get("results")
    if isinstance(records, dict):
        clean: dict[str, Any] = {}
        for uid, rec in records.items():
            if isinstance(rec, dict):
                rec = {k: v for k, v in rec.items() if k not in REVIEW_FIELDS["record"]}
                if isinstance(rec.get("files"), list):
                    rec["files"] = [
                        {k: v for k, v in f.items() if k not in REVIEW_FIELDS["file"]}
                        if isinstance(f, dict)
                        else f
                        for f in rec["files"]
                    ]
            clean[uid] = rec
        top["results"] = clean
    return hashlib.sha256(canonical(top)).hexdigest()


def make_seal(
    files: Mapping[str, str], results_content: str, key: Ed25519PrivateKey | None
) -> dict[str, Any]:
    """The seal for an export's files (``key=None``: unsigned, verifies only when allowed).

    Examples
    --------
    >>> key = Ed25519PrivateKey.generate()
    >>> seal = make_seal({"a.csv": "00"}, "11", key)
    >>> seal_signature_ok(seal), seal_signature_ok({**seal, "files": {"a.csv": "01"}})
    (True, False)
    """
    public_hex = None if key is None else _public_hex(key.public_key())
    body: dict[str, Any] = {
        "format": SEAL_FORMAT,
        "algorithm": None if key is None else "Ed25519",
        "public_key": public_hex,
        "key_fingerprint": None if public_hex is None else key_fingerprint(public_hex),
        "files": dict(sorted(files.items())),
        "results_content": results_content,
    }
    body["signature"] = None if key is None else key.sign(canonical(body)).hex()
    return body


def seal_signature_ok(seal: Mapping[str, Any]) -> bool:
    """Whether a signed seal's signature matches its public key and content."""
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(seal["public_key"])))
        body = {k: v for k, v in seal.items() if k != "signature"}
        public.verify(bytes.fromhex(str(seal["signature"])), canonical(body))
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True
