"""Provenance without local paths: what an export says about where its outputs came from.

The register keeps the paths of the building machine (extract, output folder, command line);
an export must not. :func:`portable` rewrites every string in the export's manifest and
results.json: the release folder becomes ``.`` (paths inside it relative to it), an extract
becomes ``extract:<label>@<fingerprint>`` (its folder name and the first 12 hex of its
fingerprint), and any other absolute path becomes ``<local>/<file name>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "extract_label",
    "path_rewrites",
    "portable",
    "portable_html",
    "rewrite_known_paths",
]

_HTML_ABSOLUTE = re.compile(r"(?:(?<=^)|(?<=[\s\"'(=>;]))(?:/[^\s\"'(),;:<>|&/]+){2,}/?")
_ABSOLUTE = re.compile(r"(?<![\w.:/])(?:/|[A-Za-z]:\\)(?:[^\s\"'(),;:<>|]+)")


def extract_label(path: str, fingerprint: str | None) -> str:
    """How an export names an extract: ``extract:<folder name>@<fingerprint[:12]>``.

    Examples
    --------
    >>> extract_label("/data/iapt/extract_2024", "abcdef0123456789")
    'extract:extract_2024@abcdef012345'
    """
    name = Path(path.rstrip("/\\")).name or "extract"
    return f"extract:{name}@{(fingerprint or 'unknown')[:12]}"


def path_rewrites(
    release_dir: Path, extracts: Sequence[str], fingerprint: str | None
) -> list[tuple[str, str]]:
    """The (local prefix, portable text) pairs for :func:`portable`, longest prefix first."""
    pairs: list[tuple[str, str]] = []
    for extract in extracts:
        if not extract:
            continue
        label = extract_label(extract, fingerprint)
        for form in {extract.rstrip("/"), str(Path(extract).resolve())}:
            pairs.append((form, label))
    for form in {str(release_dir).rstrip("/"), str(release_dir.resolve())}:
        if Path(form).is_absolute():
            pairs.append((form, "."))
    return sorted(pairs, key=lambda p: -len(p[0]))


def rewrite_known_paths(text: str, pairs: Sequence[tuple[str, str]]) -> str:
    """Only the known local paths of ``pairs`` rewritten (safe on HTML: tags stay).

    Examples
    --------
    >>> rewrite_known_paths("<td>/srv/x/rel/outputs</td>", [("/srv/x/rel", ".")])
    '<td>./outputs</td>'
    """
    for local, label in pairs:
        if local and local in text:
            text = re.sub(re.escape(local) + r"(?=$|[/\\\s\"'(),;:&<])", label, text)
    return text


def portable_html(html: str, pairs: Sequence[tuple[str, str]]) -> str:
    """An HTML page with known local paths rewritten and other absolute paths (two or more
    folders deep, after a space, quote, ``(``, ``=``, ``>`` or ``;``) as ``<local>/<name>``.

    Examples
    --------
    >>> portable_html("<td>&quot;/home/ana/rel/x.csv&quot;</td><br/>", [])
    '<td>&quot;&lt;local&gt;/x.csv&quot;</td><br/>'
    """
    html = rewrite_known_paths(html, pairs)
    return _HTML_ABSOLUTE.sub(
        lambda m: "&lt;local&gt;/" + m.group(0).rstrip("/").split("/")[-1], html
    )


def _rewrite_text(text: str, pairs: Sequence[tuple[str, str]]) -> str:
    text = rewrite_known_paths(text, pairs)
    text = text.replace("./", "") if text.startswith("./") else text
    return _ABSOLUTE.sub(lambda m: "<local>/" + re.split(r"[/\\]", m.group(0))[-1], text)


def portable(value: Any, pairs: Sequence[tuple[str, str]]) -> Any:
    """``value`` (JSON-like) with every local path rewritten (see module docstring).

    Examples
    --------
    >>> pairs = path_rewrites(Path("/tmp/rel"), ["/srv/data/ext1"], "0123456789abcdef")
    >>> done = portable({"extract": "/srv/data/ext1", "out": "/tmp/rel/outputs/a.csv",
    ...                  "cmd": "run /home/me/nb.ipynb", "n": 3}, pairs)
    >>> done["extract"], done["out"], done["cmd"], done["n"]
    ('extract:ext1@0123456789ab', 'outputs/a.csv', 'run <local>/nb.ipynb', 3)
    """
    if isinstance(value, str):
        return _rewrite_text(value, pairs)
    if isinstance(value, Mapping):
        return {portable(k, pairs): portable(v, pairs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [portable(v, pairs) for v in value]
    return value
