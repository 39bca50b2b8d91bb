"""What a model file is and what it needs installed — without loading it.

Usable on the host (``dockyard`` imports this file by path when it plans an image) as well as
in the image: it needs only the standard library and never unpickles anything, so it cannot
run code from an untrusted pickle and works when the model's libraries (or the exact
scikit-learn version) are not installed.

How: pickles are scanned as bytes (decompressed first for joblib's zlib/gzip/bz2/xz
compression). scikit-learn writes ``_sklearn_version`` into every estimator's state as a
pickled string right after that key, and module names (``xgboost.sklearn``,
``numpy._core.multiarray``) appear as plain strings of the pickle's GLOBAL opcodes.

Limits (best effort): lz4-compressed joblib files are not read; a version string is only
found in pickles written by scikit-learn's own ``__getstate__`` (protocol 0-5); the scan can
be fooled by the same byte patterns inside pickled data (in practice: never); XGBoost's
version is read from JSON/UBJSON model files, not from pickles; libraries other than the
ones listed in ``_MODULE_REQUIREMENTS`` are not reported.
"""

from __future__ import annotations

import bz2
import lzma
import re
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["DecompressionBomb", "detect_kind", "model_requirements", "sklearn_version"]

KINDS = ("sklearn", "xgboost", "lightgbm", "onnx")

_PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib", ".jbl", ".sav", ".p"}
_CHUNK = 1 << 20
_OVERLAP = 256  # longer than any pattern we look for, so matches across chunks are kept

# `_sklearn_version`, an optional memo opcode (MEMOIZE, BINPUT, LONG_BINPUT), then a string
# opcode (SHORT_BINUNICODE, BINUNICODE, SHORT_BINSTRING, BINSTRING) and the version text.
_SKLEARN_VERSION = re.compile(
    rb"_sklearn_version(?:\x94|q[\x00-\xff]|r[\x00-\xff]{4})?"
    rb"(?:\x8c([\x00-\xff])|X([\x00-\xff]{4})|U([\x00-\xff])|T([\x00-\xff]{4}))"
    rb"([0-9][0-9A-Za-z.+!\-]{0,40})"
)
# Protocol 0 (text): `V_sklearn_version\np5\nV1.5.2\n`.
_SKLEARN_VERSION_TEXT = re.compile(rb"_sklearn_version\n(?:p\d+\n)?[VS]'?([0-9][0-9A-Za-z.+!\-]*)")

# Module prefixes seen in a pickle -> requirement that makes the pickle loadable.
_MODULE_REQUIREMENTS = {
    b"xgboost.": "xgboost",
    b"lightgbm.": "lightgbm",
    b"catboost.": "catboost",
    b"imblearn.": "imbalanced-learn",
    b"category_encoders.": "category_encoders",
    b"pandas.": "pandas",
    b"scipy.": "scipy",
}

_XGB_JSON_VERSION = re.compile(rb'"version"\s*:\s*\[\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\]')
_XGB_UBJ_VERSION = re.compile(
    rb"\x07version\[(?:\$([iUIlL]))?(?:#(?:[iU][\x00-\xff]|I[\x00-\xff]{2}|l[\x00-\xff]{4}|L[\x00-\xff]{8}))?"
    rb"(?=[\x00-\xff]{3})"
)


def detect_kind(path: str | Path) -> str:
    """The kind of model file: ``sklearn`` (any pickle/joblib), ``xgboost``, ``lightgbm``
    or ``onnx``, from the suffix and, when that is ambiguous, the first bytes.

    Raises ValueError when the file is none of these.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    head = _head(path)
    if suffix == ".onnx":
        return "onnx"
    if suffix in _PICKLE_SUFFIXES or _is_pickle(head):
        return "sklearn"
    if suffix == ".ubj" or (suffix == ".json" and b'"learner"' in head):
        return "xgboost"
    if head.startswith(b"tree\n") or head.startswith(b"tree\r\n"):
        return "lightgbm"
    if head.startswith(b"{") and b"learner" in head:
        return "xgboost"
    if head[:1] == b"\x08" and b"onnx" in head.lower():
        return "onnx"
    raise ValueError(
        f"cannot tell what kind of model {path.name} is; name it .joblib/.pkl, .json/.ubj "
        "(XGBoost), .txt (LightGBM) or .onnx, or set DOCKYARD_MODEL_KIND"
    )


def model_requirements(path: str | Path) -> list[str]:
    """Requirements the image needs to load this model, e.g. ``["scikit-learn==1.5.2"]``.

    scikit-learn is pinned exactly: its pickles are only guaranteed to load in the version
    that wrote them. A pickle written with NumPy 2 refers to ``numpy._core`` and needs
    ``numpy>=2``. A model fitted on a DataFrame needs pandas to be served with column names.
    Returns an empty list for files it cannot read; raises :class:`DecompressionBomb` for a
    compressed file that expands far beyond any model (a 1 KB bz2 file can hold gigabytes).
    """
    path = Path(path)
    try:
        kind = detect_kind(path)
    except (OSError, ValueError):
        return []
    if kind == "onnx":
        return ["onnxruntime"]
    if kind == "lightgbm":
        return ["lightgbm"]
    if kind == "xgboost":
        return [_xgboost_requirement(path)]
    return _pickle_requirements(path)


def sklearn_version(path: str | Path) -> str | None:
    """The scikit-learn version recorded in a joblib/pickle file, or None."""
    for match in _scan(Path(path), (_SKLEARN_VERSION, _SKLEARN_VERSION_TEXT)):
        version = _version_from_match(match)
        if version:
            return version
    return None


def _pickle_requirements(path: Path) -> list[str]:
    found: dict[str, None] = {}  # ordered set
    version = None
    modules = [re.compile(re.escape(prefix)) for prefix in _MODULE_REQUIREMENTS]
    patterns = [
        _SKLEARN_VERSION,
        _SKLEARN_VERSION_TEXT,
        re.compile(rb"feature_names_in_"),
        re.compile(rb"numpy\._core"),
        _XGB_JSON_VERSION,
        _XGB_UBJ_VERSION,
        *modules,
    ]
    xgb_version = None
    for match in _scan(path, patterns):
        text = match.group(0)
        if match.re in (_XGB_JSON_VERSION, _XGB_UBJ_VERSION):
            xgb_version = xgb_version or _xgboost_version(match)
        elif text.startswith(b"_sklearn_version"):
            version = version or _version_from_match(match)
        elif text == b"feature_names_in_":
            found["pandas"] = None
        elif text == b"numpy._core":
            found["numpy>=2"] = None
        else:
            found[_MODULE_REQUIREMENTS[text]] = None
    if "xgboost" in found and xgb_version:
        # A pickled XGBoost object embeds its booster, which loads only in the same release.
        found = {("xgboost==" + xgb_version if r == "xgboost" else r): None for r in found}
    if version:
        head = [f"scikit-learn=={version}"]
    elif "xgboost" in found or "lightgbm" in found or any(r.startswith("xgboost==") for r in found):
        head = ["scikit-learn"]  # their scikit-learn wrappers import it when unpickled
    else:
        head = []
    return head + [r for r in found if r != "scipy" or not version]


def _version_from_match(match: re.Match[bytes]) -> str | None:
    groups = match.groups()
    if len(groups) == 1:  # protocol 0: the text up to the newline
        return groups[0].decode("ascii", "replace")
    short, long4, short_b, long_b, text = groups
    length_bytes = short or short_b or long4 or long_b
    length = int.from_bytes(length_bytes, "little") if length_bytes else len(text)
    version = text[:length].decode("ascii", "replace")
    return version if length == len(version) else None


def _xgboost_requirement(path: Path) -> str:
    # XGBoost reads models of older versions, not newer ones: require at least the writer's.
    for match in _scan(path, (_XGB_JSON_VERSION, _XGB_UBJ_VERSION), limit=4 * _CHUNK):
        version = _xgboost_version(match)
        if version:
            return f"xgboost>={version}"
    return "xgboost"


def _xgboost_version(match: re.Match[bytes]) -> str | None:
    if match.re is _XGB_JSON_VERSION:
        return ".".join(g.decode() for g in match.groups())
    # UBJSON array: optional `$type`, optional `#count`, then three integers.
    sizes = {b"U": 1, b"i": 1, b"I": 2, b"l": 4, b"L": 8}
    data, pos, parts = match.string, match.end(), []
    typed = match.group(1)
    for _ in range(3):
        marker = typed or data[pos : pos + 1]
        pos += 0 if typed else 1
        size = sizes.get(marker)
        if size is None or pos + size > len(data):
            return None
        parts.append(int.from_bytes(data[pos : pos + size], "big", signed=marker != b"U"))
        pos += size
    return ".".join(str(p) for p in parts)


def _scan(
    path: Path, patterns: Sequence[re.Pattern[bytes]], limit: int | None = None
) -> Iterator[re.Match[bytes]]:
    """Matches of any pattern over the (decompressed) file, read in overlapping chunks."""
    tail = b""
    for chunk in _chunks(path, limit):
        window = tail + chunk
        cut = max(0, len(window) - _OVERLAP)
        for pattern in patterns:
            for match in pattern.finditer(window):
                # A match starting in the overlap will be seen again with the next window.
                if match.start() < cut:
                    yield match
        tail = window[cut:]
    for pattern in patterns:  # whatever remained in the last overlap
        yield from pattern.finditer(tail)


class DecompressionBomb(ValueError):
    """The file decompresses to far more than any model would: refused, not read further."""


def _chunks(path: Path, limit: int | None = None) -> Iterator[bytes]:
    """The file's (decompressed) bytes in pieces of at most ``_CHUNK``.

    Decompression is bounded twice: every call produces at most ``_CHUNK`` bytes (a 1 KB bz2
    file can hold gigabytes, which one unbounded call would materialise at once), and the
    total may not exceed :func:`_budget` of the compressed bytes read.
    """
    decompressor = _decompressor(_head(path))
    read = produced = 0
    with path.open("rb") as handle:
        while limit is None or read < limit:
            raw = handle.read(_CHUNK)
            if not raw:
                break
            read += len(raw)
            if decompressor is None:
                yield raw
                continue
            try:
                for piece in _inflate(decompressor, raw):
                    produced += len(piece)
                    if produced > _budget(read):
                        raise DecompressionBomb(
                            f"{path.name} decompresses to more than {_budget(read)} bytes from "
                            f"{read}: refusing to read it (a decompression bomb?)"
                        )
                    yield piece
            except (OSError, EOFError, zlib.error, lzma.LZMAError):
                return  # corrupt or truncated: report what was found so far


#: Decompressed bytes allowed per compressed byte, and at least. Pickled models (float arrays,
#: trees) compress 2-10x with joblib's compressors; zlib cannot exceed ~1000x at all, while
#: bz2 and xz turn a kilobyte into gigabytes. The floor keeps the scan under a second.
_MAX_RATIO = 1000
_MIN_BUDGET = 32 * _CHUNK


def _budget(compressed: int) -> int:
    return max(_MIN_BUDGET, _MAX_RATIO * compressed)


def _inflate(decompressor: Any, data: bytes) -> Iterator[bytes]:
    """Decompress ``data`` in pieces of at most ``_CHUNK`` bytes (zlib, bz2 and lzma)."""
    if hasattr(decompressor, "unconsumed_tail"):  # zlib: unread input is handed back
        while data:
            yield decompressor.decompress(data, _CHUNK)
            data = decompressor.unconsumed_tail
        return
    yield decompressor.decompress(data, _CHUNK)  # bz2 / lzma keep pending output inside
    while not decompressor.eof and not decompressor.needs_input:
        yield decompressor.decompress(b"", _CHUNK)


def _decompressor(head: bytes) -> Any:
    """A streaming decompressor for joblib's compressors, chosen by magic bytes, or None."""
    if head.startswith(b"\x1f\x8b"):  # gzip
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    if head[:1] == b"\x78":  # zlib (joblib's default compressor)
        return zlib.decompressobj()
    if head.startswith(b"BZh"):
        return bz2.BZ2Decompressor()
    if head.startswith((b"\xfd7zXZ\x00", b"\x5d\x00\x00")):
        return lzma.LZMADecompressor()
    return None


def _is_pickle(head: bytes) -> bool:
    """Protocol 2+ starts with PROTO (0x80); protocols 0-1 usually with a GLOBAL or MARK."""
    if head[:1] == b"\x80" or _decompressor(head) is not None:
        return True
    return re.match(rb"(?:\(|c[A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n)", head) is not None


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(4096)
