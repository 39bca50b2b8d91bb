"""The step graph (order, cycles, --from) and the .env / ignore-file merges."""

from __future__ import annotations

import re

from dockyard.app.envfile import covers_env, merged_env, parse_env, with_env_ignored
from dockyard.spec.graph import downstream, find_cycle, graph_problems, leaves, topological

AFTER = {"etl": (), "validate": ("etl",), "train": ("validate",), "report": ("validate",),
         "publish": ("train", "report")}


def test_topological_keeps_declaration_order_for_ties() -> None:
    assert topological(AFTER) == ["etl", "validate", "train", "report", "publish"]
    assert topological({"b": ("a",), "a": ()}) == ["a", "b"]


def test_downstream_selects_a_step_and_what_follows() -> None:
    assert downstream(AFTER, "train") == ["train", "publish"]
    assert downstream(AFTER, "validate") == ["validate", "train", "report", "publish"]
    assert leaves(AFTER, list(AFTER)) == ["publish"]


def test_cycles_and_missing_steps() -> None:
    assert find_cycle(AFTER) == []
    assert find_cycle({"a": ("c",), "b": ("a",), "c": ("b",)}) == ["a", "c", "b", "a"]
    assert graph_problems({"a": ("x",)}) == [("a", 'no step named "x"')]
    assert graph_problems({"a": ("b",), "b": ("a",)}) == [("a", "dependency cycle a -> b -> a")]


def test_env_merge_adds_only_what_is_missing() -> None:
    existing = "# mine\nexport API_KEY='abc'\nPOSTGRES_PASSWORD=kept"
    text, added = merged_env(existing, ["POSTGRES_PASSWORD", "REDIS_PASSWORD", "DOCKYARD_UID",
                                        "JUPYTER_TOKEN"], 501, 20)
    assert added == ["REDIS_PASSWORD", "DOCKYARD_UID", "JUPYTER_TOKEN"]
    assert text.startswith(existing + "\n")
    values = parse_env(text)
    assert values["POSTGRES_PASSWORD"] == "kept" and values["API_KEY"] == "abc"
    assert values["DOCKYARD_UID"] == "501"
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", values["REDIS_PASSWORD"])  # URL-safe as is
    assert re.fullmatch(r"[0-9a-f]{48}", values["JUPYTER_TOKEN"])
    assert merged_env(text, ["REDIS_PASSWORD"], 0, 0) == (text, [])


def test_fresh_passwords_differ() -> None:
    one, _ = merged_env("", ["REDIS_PASSWORD"], 0, 0)
    two, _ = merged_env("", ["REDIS_PASSWORD"], 0, 0)
    assert parse_env(one) != parse_env(two)


def test_ignore_files_get_a_dotenv_line_once() -> None:
    assert covers_env("venv\n**/.env\n") and not covers_env(".envrc\n")
    added = with_env_ignored("venv")
    assert added == "venv\n# dockyard: .env holds the stack's passwords\n.env\n"
    assert with_env_ignored(added) == added
