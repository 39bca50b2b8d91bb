"""The pipeline's step graph: problems (missing steps, cycles), order, and `--from` selection.

Pure functions over `{step: (steps it runs after, ...)}`; Compose does the scheduling at run
time (`service_completed_successfully`), these only check the graph and pick steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def graph_problems(after: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    """(step, message) for each reference to a missing step, then for one cycle if any."""
    problems = [(step, f'no step named "{dep}"' + _did_you_mean(dep, after))
                for step, deps in after.items() for dep in deps if dep not in after]
    if problems:
        return problems
    cycle = find_cycle(after)
    if cycle:
        return [(cycle[0], "dependency cycle " + " -> ".join(cycle))]
    return []


def _did_you_mean(name: str, known: Mapping[str, object]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean \"{close[0]}\"?)" if close else ""


def find_cycle(after: Mapping[str, Sequence[str]]) -> list[str]:
    """One cycle as a closed path [a, b, …, a], or [] when the graph is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(step: str) -> list[str]:
        state[step] = 1
        path.append(step)
        for dep in after.get(step, ()):
            if state.get(dep) == 1:
                return [*path[path.index(dep):], dep]
            if dep not in state and (found := visit(dep)):
                return found
        path.pop()
        state[step] = 2
        return []

    for step in after:
        if step not in state and (found := visit(step)):
            return found
    return []


def topological(after: Mapping[str, Sequence[str]]) -> list[str]:
    """Steps in an order where each comes after its dependencies; ties keep declaration order."""
    done: list[str] = []
    remaining = list(after)
    while remaining:
        ready = [s for s in remaining if all(d in done for d in after[s])]
        if not ready:  # a cycle: graph_problems reports it before anyone calls this
            raise ValueError("dependency cycle")
        done += ready
        remaining = [s for s in remaining if s not in ready]
    return done


def downstream(after: Mapping[str, Sequence[str]], start: str) -> list[str]:
    """`start` and every step that (transitively) runs after it, in topological order."""
    chosen = {start}
    changed = True
    while changed:
        changed = False
        for step, deps in after.items():
            if step not in chosen and chosen.intersection(deps):
                chosen.add(step)
                changed = True
    return [s for s in topological(after) if s in chosen]


def leaves(after: Mapping[str, Sequence[str]], steps: Sequence[str]) -> list[str]:
    """Of `steps`, those no other of them runs after."""
    needed = {d for s in steps for d in after[s]}
    return [s for s in steps if s not in needed]
