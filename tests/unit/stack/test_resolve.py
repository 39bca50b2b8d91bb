"""Resolving [services] and [pipeline]: defaults, detection, and every problem named by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.app.context import load_project
from dockyard.errors import SpecError
from dockyard.spec.resolve_stack import resolve_stack
from dockyard.spec.stack import StackSpec
from tests.unit.stack.helpers import write_project


def resolve(root: Path) -> StackSpec:
    project = load_project(root)
    return resolve_stack(project.loaded.spec, project.spec, project.view, project.loaded.file)


def problems(tmp_path: Path, toml: str, files: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SpecError) as caught:
        resolve(write_project(tmp_path / "proj", toml, files))
    return list(caught.value.problems)


def test_catalog_defaults(tmp_path: Path) -> None:
    stack = resolve(write_project(tmp_path / "My Proj", "[services.postgres]\n[services.redis]\n"
                                  "[services.mlflow]\n[services.lab]\n[services.spark]\n"))
    pg, redis = stack.service("postgres"), stack.service("redis")
    assert pg and redis and stack.service("lab") and stack.service("mlflow")
    assert (pg.version, pg.user, pg.database, pg.resources.memory) == ("15", "app", "my-proj"
                                                                        .replace("-", "_"), "1g")
    assert pg.ports == () and redis.ports == ()  # databases are not published unless asked
    published = {s.name: [(p.host, p.port, p.target) for p in s.ports] for s in stack.services}
    assert published["lab"] == [("127.0.0.1", 8888, 8888)]
    assert published["mlflow"] == [("127.0.0.1", 5000, 5000)]
    assert published["spark"] == [("127.0.0.1", 8090, 8080)]
    assert [s.name for s in stack.services] == ["lab", "mlflow", "postgres", "redis", "spark"]
    assert stack.project.startswith("my-proj-")


def test_a_port_publishes_a_database_and_host_is_kept(tmp_path: Path) -> None:
    stack = resolve(write_project(tmp_path / "p", '[services.postgres]\nport = 5433\n'
                                  '[services.lab]\npublish = false\n'
                                  '[services.redis]\npublish = true\nhost = "0.0.0.0"\n'))
    ports = {s.name: [(p.host, p.port) for p in s.ports] for s in stack.services}
    assert ports == {"lab": [], "postgres": [("127.0.0.1", 5433)], "redis": [("0.0.0.0", 6379)]}


def test_lab_and_api_take_their_sections_defaults(tmp_path: Path) -> None:
    toml = ('[lab]\nport = 9999\n[serve]\nmodel = "model.pkl"\nport = 8181\n'
            "[services.lab]\n[services.api]\n")
    stack = resolve(write_project(tmp_path / "p", toml))
    api, lab = stack.service("api"), stack.service("lab")
    assert api and lab
    assert (api.model, api.ports[0].port, api.ports[0].target) == ("model.pkl", 8181, 8080)
    assert lab.ports[0].port == 9999


def test_dashboard_is_found_or_named(tmp_path: Path) -> None:
    files = {"notebooks/util.py": "import pandas\n", "apps/board.py": "import dash\n",
             "app.py": "import gradio as gr\n"}
    stack = resolve(write_project(tmp_path / "p", "[services.dashboard]\n", files))
    board = stack.service("dashboard")
    assert board and (board.app, board.framework, board.ports[0].port) == ("app.py", "gradio",
                                                                            7860)
    named = resolve(write_project(tmp_path / "q", '[services.dashboard]\napp = "apps/board.py"\n'
                                  "port = 9050\n", files)).service("dashboard")
    assert named and (named.app, named.framework, named.ports[0].target) == ("apps/board.py",
                                                                             "dash", 8050)


def test_steps_are_ordered_and_commands_split(tmp_path: Path) -> None:
    toml = ('[pipeline.steps.train]\ncommand = "python train.py --epochs \'1 0\'"\n'
            'after = ["etl"]\nretries = 1\n'
            '[pipeline.steps.etl]\ncommand = ["python", "etl.py"]\n')
    stack = resolve(write_project(tmp_path / "p", toml))
    assert [s.name for s in stack.steps] == ["etl", "train"]
    train = stack.step("train")
    assert train and train.command == ("python", "train.py", "--epochs", "1 0")
    assert train.retries == 1


def test_pipeline_defaults_apply_where_a_step_sets_none(tmp_path: Path) -> None:
    toml = ('[pipeline]\nretries = 2\nretry_delay = "1m"\ntimeout = "1h"\n'
            '[pipeline.steps.etl]\ncommand = "python etl.py"\n'
            '[pipeline.steps.train]\ncommand = "python train.py"\nafter = ["etl"]\n'
            'retries = 0\nretry_delay = 5\ntimeout = "2h30m"\n')
    stack = resolve(write_project(tmp_path / "p", toml))
    etl, train = stack.step("etl"), stack.step("train")
    assert etl and (etl.retries, etl.retry_delay, etl.timeout) == (2, 60, 3600)
    assert train and (train.retries, train.retry_delay, train.timeout) == (0, 5, 9000)


def test_without_defaults_a_step_has_no_retries_and_no_timeout(tmp_path: Path) -> None:
    stack = resolve(write_project(tmp_path / "p", '[pipeline.steps.etl]\ncommand = "true"\n'))
    etl = stack.step("etl")
    assert etl and (etl.retries, etl.retry_delay, etl.timeout) == (0, 0, 0)


@pytest.mark.parametrize(("toml", "problem"), [
    ('[services.cache]\nkind = "memcached"\n',
     'services.cache.kind: unknown service kind "memcached" (known: api, dashboard, lab, minio, '
     "mlflow, postgres, redis, spark)"),
    ("[services.warehouse]\n",
     'services.warehouse: unknown service kind "warehouse": name a catalog service or set kind '
     "(known: api, dashboard, lab, minio, mlflow, postgres, redis, spark)"),
    ("[services.redis]\nworkers = 2\n", "services.redis.workers: not a setting of a redis service"),
    ('[services.lab]\nversion = "4"\n', "services.lab.version: not a setting of a lab service"),
    ('[services.postgres]\n[services.db]\nkind = "postgres"\n',
     "services.db.kind: a stack holds one postgres service, and services.postgres is one already"),
    ("[services.Bad_Name]\n", "services.Bad_Name: a service name must be lowercase letters, "
                              "digits and '-', starting with a letter (it becomes a host name)"),
    ('[pipeline.steps.train]\ncommand = "python train.py"\nafter = ["valdate"]\n'
     '[pipeline.steps.validate]\ncommand = "true"\n',
     'pipeline.steps.train.after: no step named "valdate" (did you mean "validate"?)'),
    ('[pipeline.steps.a]\ncommand = "true"\nafter = ["b"]\n'
     '[pipeline.steps.b]\ncommand = "true"\nafter = ["a"]\n',
     "pipeline.steps.a.after: dependency cycle a -> b -> a"),
    ('[pipeline.steps.a]\ncommand = "true"\nafter = ["a"]\n',
     "pipeline.steps.a.after: dependency cycle a -> a"),
    ('[services.lab]\nport = 8080\n[services.api]\nmodel = "m.pkl"\n',
     "services.api.port: port 8080 is already published by services.lab.port"),
    ('[services.mlflow]\nport = 9000\n[services.minio]\nport = 9000\nhost = "0.0.0.0"\n',
     "services.minio.port: port 9000 is already published by services.mlflow.port"),
    ('[services.redis]\n[pipeline.steps.redis]\ncommand = "true"\n',
     'pipeline.steps.redis: the name "redis" is taken by a service of the stack'),
    ('[pipeline.steps.etl]\ncommand = ""\n', "pipeline.steps.etl.command: must not be empty"),
    ("[services.api]\n", 'services.api: nothing to serve: set model = "path/to/model" or '
                         'predictor = "module:Class" (here or in [serve])'),
    ("[services.dashboard]\n", "services.dashboard: no Streamlit, Dash, Panel or Gradio app "
                               'found in the project; set app = "path/to/app.py"'),
    ('[services.dashboard]\napp = "nope.py"\n',
     'services.dashboard.app: no file "nope.py" in the project'),
])
def test_problems_name_their_key(tmp_path: Path, toml: str, problem: str) -> None:
    assert problems(tmp_path, toml)[0] == problem


def test_every_problem_is_collected(tmp_path: Path) -> None:
    found = problems(tmp_path, '[services.cache]\nkind = "x"\n[services.redis]\nworkers = 1\n')
    assert len(found) == 2


def test_a_missing_step_is_not_also_reported_as_a_cycle(tmp_path: Path) -> None:
    found = problems(tmp_path, '[pipeline.steps.a]\ncommand = "true"\nafter = ["zzz"]\n')
    assert found == ['pipeline.steps.a.after: no step named "zzz"']


def test_the_hint_names_the_table(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        resolve(write_project(tmp_path / "p", '[pipeline.steps.a]\ncommand = "true"\n'
                                              'after = ["b"]\n'))
    assert caught.value.hint == "fix [pipeline.steps.a] in dockyard.toml"
    assert caught.value.message == 'dockyard.toml: pipeline.steps.a.after: no step named "b"'
