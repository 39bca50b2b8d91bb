"""The one validation of the strings a spec carries into Dockerfiles, ignore files, argv and
compose.yaml: paths, URLs, image references, hosts, names.

Each check is a pure function that returns the value or raises `ValueError` with a message said
for a person; `Annotated` types wrap them for pydantic, whose error then names the key
(`data.dirs.0: ...`). Detected values (an index URL in requirements.txt) go through the same
functions in `resolve`.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

# Characters that mean something to .dockerignore (`!` re-includes, globs widen), to Compose
# (`$` interpolates), to `--mount` (`,` separates fields) or to a shell.
_FOLDER_SPECIAL = set("!*?[]{}$,#\\\"'`;&|<>")
_IMAGE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?"
                    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
                    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_PREDICTOR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
                        r":[A-Za-z_][A-Za-z0-9_]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _no_control(value: str) -> None:
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        raise ValueError("must not contain control characters or line breaks")


def relative_path(value: str) -> str:
    """A relative, normalised path inside the project: no `..`, no absolute path."""
    _no_control(value)
    stripped = value.strip("/") if not value.startswith("/") else value
    norm = posixpath.normpath(stripped) if stripped else ""
    if not stripped or value.startswith("/") or norm != stripped or norm in (".", "..") \
            or norm.startswith("../"):
        raise ValueError("expected a relative path inside the project (no '..', no leading "
                         "'/', no '.' parts)")
    return stripped


def folder(value: str) -> str:
    """A data folder: a relative path, and none of the characters ignore files, Compose or
    `--mount` read as syntax (`!`, globs, `$`, `,` …)."""
    path = relative_path(value)
    bad = sorted(set(path) & _FOLDER_SPECIAL)
    if bad:
        raise ValueError(f"a folder name must not contain {' '.join(bad)}")
    if any(part != part.strip() for part in path.split("/")):
        raise ValueError("a folder name must not start or end with a space")
    return path


def index_url(value: str) -> str:
    """A package index: http(s) or file URL, one line, no spaces ("" means PyPI)."""
    if value == "":
        return value
    _no_control(value)
    if any(c.isspace() for c in value):
        raise ValueError("must not contain spaces")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.scheme not in ("http", "https", "file") or \
            (parts.scheme != "file" and not parts.hostname):
        raise ValueError("expected an http://, https:// or file:// URL")
    return value


def image_ref(value: str) -> str:
    """An image reference: [registry[:port]/]name[:tag][@sha256:digest]."""
    _no_control(value)
    if len(value) > 255 or not _IMAGE.match(value):
        raise ValueError("expected an image reference such as python:3.11-slim or "
                         "registry.example.org/team/python:3.11")
    return value


def host(value: str) -> str:
    """An address to bind a published port to: an IP address or a host name."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if len(value) > 253 or not _HOSTNAME.match(value):
        raise ValueError("expected an IP address such as 127.0.0.1, or a host name")
    return value


def predictor(value: str) -> str:
    if not _PREDICTOR.match(value):
        raise ValueError('expected "module:Class"')
    return value


def env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError("expected a variable name (letters, digits and '_')")
    return value


def requirement(value: str) -> str:
    """One PEP 508 requirement (`pandas>=2`, `torch[cpu]; python_version>"3.9"`)."""
    from packaging.requirements import InvalidRequirement, Requirement

    _no_control(value)
    try:
        Requirement(value)
    except InvalidRequirement:
        raise ValueError("expected a requirement such as \"pyarrow>=15\" (PEP 508)") from None
    return value


def package_name(value: str) -> str:
    if not re.match(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$", value):
        raise ValueError("expected a package name such as \"scikit-learn\"")
    return value


def plain_text(value: str) -> str:
    """Free text that ends up in a label or a file: one line."""
    _no_control(value)
    return value


def redact(url: str) -> str:
    """A URL with its credentials replaced by `***`, for messages and comments."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an invalid URL>"
    if parts.username is None and parts.password is None:
        return url
    netloc = "***@" + parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=netloc))


def has_credentials(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.username is not None or parts.password is not None


def _pydantic(check: object, kind: str) -> AfterValidator:
    def validate(value: str) -> str:
        try:
            return check(value)  # type: ignore[operator,no-any-return]
        except ValueError as exc:
            raise PydanticCustomError(kind, str(exc)) from None
    return AfterValidator(validate)


RelativePath = Annotated[str, _pydantic(relative_path, "spec_path")]
Folder = Annotated[str, _pydantic(folder, "spec_folder")]
IndexUrl = Annotated[str, _pydantic(index_url, "spec_url")]
ImageRef = Annotated[str, _pydantic(image_ref, "spec_image")]
Host = Annotated[str, _pydantic(host, "spec_host")]
Predictor = Annotated[str, _pydantic(predictor, "spec_predictor")]
EnvName = Annotated[str, _pydantic(env_name, "spec_env_name")]
PlainText = Annotated[str, _pydantic(plain_text, "spec_text")]
RequirementText = Annotated[str, _pydantic(requirement, "spec_requirement")]
PackageName = Annotated[str, _pydantic(package_name, "spec_package")]
# Error types whose message is already a sentence for the user (see spec.load._describe).
CUSTOM_TYPES = frozenset({"spec_path", "spec_folder", "spec_url", "spec_image", "spec_host",
                          "spec_predictor", "spec_env_name", "spec_text", "spec_requirement",
                          "spec_package", "spec_choice", "spec_schedule",
                          "spec_duration", "spec_parameters"})


def requirement_name(line: str) -> str:
    """The canonical (PEP 503) name of a requirement line; the line itself if unparsable.
    The one parse of a requirement's name (`pyspark~=3.5.1` and `PySpark[sql]` are `pyspark`)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return canonicalize_name(Requirement(line).name)
    except InvalidRequirement:
        return line
