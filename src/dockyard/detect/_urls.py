"""Index URLs in messages and JSON: credentials masked."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def redact(url: str) -> str:
    """The URL with any password replaced, for messages (index URLs may embed tokens); a user
    name alone is a token too (`https://TOKEN@host/simple`)."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    user = f"{parts.username}:***" if parts.password is not None else "***"
    netloc = f"{user}@{parts.hostname or ''}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))
