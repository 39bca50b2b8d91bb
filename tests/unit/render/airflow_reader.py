"""Read a generated DAG file back without Airflow: its tasks' arguments and its edges.

The file is parsed with `ast` and evaluated by a tiny interpreter that knows only what the
renderer writes: literals, the module's constants, `a + b` on strings, and calls (operators,
`Mount`, `timedelta`, `k8s.*` models, the file's own helpers), each call read back as a dict
`{"_call": name, **arguments}`. Nothing of the file runs.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

HELPERS = {"literal", "timedelta", "Mount", "DeviceRequest", "secret_env", "security", "claim",
           "datetime"}


@dataclass(frozen=True)
class Dag:
    constants: dict[str, Any]
    dag: dict[str, Any]  # the DAG(...) call's arguments
    tasks: dict[str, dict[str, Any]]  # task_id → the operator call's arguments
    upstream: dict[str, set[str]]  # task_id → task_ids it runs after


class _Eval:
    def __init__(self, constants: dict[str, ast.expr]) -> None:
        self.sources = constants
        self.values: dict[str, Any] = {}

    def name(self, name: str) -> Any:
        if name not in self.values:
            if name not in self.sources:
                return {"_name": name}
            self.values[name] = self(self.sources[name])
        return self.values[name]

    def __call__(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self(node.operand)
        if isinstance(node, ast.List):
            return [self(e) for e in node.elts]
        if isinstance(node, ast.Dict):
            return {self(k): self(v) for k, v in zip(node.keys, node.values, strict=True)
                    if k is not None}
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.Attribute):
            return f"{ast.unparse(node)}"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self(node.left) + self(node.right)
        if isinstance(node, ast.Call):
            func = ast.unparse(node.func).removeprefix("k8s.")
            args = [self(a) for a in node.args]
            if func == "literal":
                return {"_literal": args[0]}
            return {"_call": func, "_args": args,
                    **{k.arg: self(k.value) for k in node.keywords if k.arg}}
        if isinstance(node, ast.ListComp):  # [v for v in VOLUMES if v.name in [...]]
            cond = node.generators[0].ifs[0]
            assert isinstance(cond, ast.Compare)
            return {"_filter": self(cond.comparators[0])}
        raise AssertionError(f"unexpected syntax in a generated DAG: {ast.unparse(node)}")


def plain(value: Any) -> Any:
    """A value with `literal(...)` unwrapped (what the container receives)."""
    if isinstance(value, dict) and "_literal" in value:
        return value["_literal"]
    return value


def read_dag(text: str) -> Dag:
    tree = ast.parse(text)
    sources: dict[str, ast.expr] = {}
    block: ast.With | None = None
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            sources[stmt.targets[0].id] = stmt.value
        elif isinstance(stmt, ast.With):
            block = stmt
    assert block is not None, "no `with DAG(...)` block"
    ev = _Eval(sources)
    dag_call = block.items[0].context_expr
    assert isinstance(dag_call, ast.Call)
    dag = ev(dag_call)
    tasks: dict[str, dict[str, Any]] = {}
    variables: dict[str, str] = {}
    edges: list[tuple[list[str], str]] = []
    for stmt in block.body:
        if isinstance(stmt, ast.Assign):
            call = ev(stmt.value)
            target = stmt.targets[0]
            assert isinstance(target, ast.Name)
            variables[target.id] = call["task_id"]
            tasks[call["task_id"]] = call
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.BinOp):
            left, right = stmt.value.left, stmt.value.right
            assert isinstance(right, ast.Name)
            ups = left.elts if isinstance(left, ast.List) else [left]
            edges.append(([u.id for u in ups if isinstance(u, ast.Name)], right.id))
    upstream: dict[str, set[str]] = {t: set() for t in tasks}
    for ups, down in edges:
        upstream[variables[down]] |= {variables[u] for u in ups}
    constants = {name: ev.name(name) for name in sources}
    return Dag(constants, dag, tasks, upstream)
