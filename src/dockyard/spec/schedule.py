"""Checks for `[pipeline] schedule` and durations (`retry_delay`, `timeout`), without a cron
library: a schedule is either a preset Airflow and cron both know (`@daily`) or five cron
fields whose values are checked against their ranges, so a typo fails when the spec is loaded,
not when a scheduler first reads the DAG or the CronJob."""

from __future__ import annotations

import re

# Presets both Airflow and Kubernetes CronJobs accept (`@once` and `@continuous` are Airflow's
# own and mean nothing to a CronJob, so they are not offered).
PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight")
FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
          ("day of week", 0, 7))
NAMES = {3: ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
         4: ("sun", "mon", "tue", "wed", "thu", "fri", "sat")}
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def check_schedule(text: str) -> str:
    """`text` unchanged when it is a preset or a valid 5-field cron line; else ValueError."""
    if text.startswith("@"):
        if text not in PRESETS:
            raise ValueError(f'unknown preset "{text}" (known: {", ".join(PRESETS)})')
        return text
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f'"{text}" has {len(fields)} field(s); a cron schedule has 5 '
                         '(minute hour day-of-month month day-of-week), e.g. "0 3 * * *", '
                         'or use a preset such as "@daily"')
    for i, (field, (what, low, high)) in enumerate(zip(fields, FIELDS, strict=True)):
        for part in field.split(","):
            _check_part(part, what, low, high, NAMES.get(i, ()))
    return text


def _check_part(part: str, what: str, low: int, high: int, names: tuple[str, ...]) -> None:
    body, _, step = part.partition("/")
    if step and not (step.isdigit() and int(step) >= 1):
        raise ValueError(f'{what}: step "/{step}" must be a positive number')
    if body == "*":
        return
    for bound in body.split("-", 1):
        value = _value(bound, names, low)
        if value is None or not low <= value <= high:
            raise ValueError(f'{what}: "{bound}" is not in {low}-{high}')


def _value(text: str, names: tuple[str, ...], low: int) -> int | None:
    if text.isdigit():
        return int(text)
    lowered = text.lower()
    return names.index(lowered) + low if lowered in names else None


def seconds(value: object) -> int:
    """A duration as whole seconds: an int, or a string such as "30s", "5m", "1h30m"."""
    if isinstance(value, bool):
        raise ValueError("expected seconds or a duration such as \"30s\", \"5m\", \"1h\"")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must not be negative")
        return value
    if isinstance(value, str):
        found = _DURATION.match(value.strip())
        if found and any(found.groups()):
            h, m, s = (int(g or 0) for g in found.groups())
            return h * 3600 + m * 60 + s
    raise ValueError('expected seconds or a duration such as "30s", "5m", "1h30m"')
