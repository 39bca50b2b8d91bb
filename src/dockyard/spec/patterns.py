"""The spec's string patterns, each registered with the words an error says instead.

A regex is no answer to "what may I write here?", and pydantic's message lowercased
(`[A-Za-z]` read `[a-za-z]`) was wrong as well as unreadable.
"""

from __future__ import annotations

# regex → what it accepts, said for a person; `spec.load` reads it for pattern errors.
WORDS: dict[str, str] = {}


def pattern(regex: str, words: str) -> str:
    """REGEX, registered so that a value it rejects is explained as WORDS."""
    WORDS[regex] = words
    return regex
