"""Issue 8 item 5: every string a spec carries into a Dockerfile, an ignore file, an argv or
compose.yaml is checked once; a bad one is a one-line error naming its key, and nothing is
written."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dockyard.render.docker_run import run_argv
from dockyard.workload import Mount, Workload
from tests.cli.test_errors import assert_user_error

HINT = "fix dockyard.toml, or run `dockyard init --force` to write a fresh one"
PATH = "expected a relative path inside the project (no '..', no leading '/', no '.' parts)"
CONTROL = "must not contain control characters or line breaks"

CASES = [
    ('[data]\ndirs = ["../outside"]\n', f'data.dirs.0: {PATH}, got "../outside"'),
    ('[data]\ndirs = ["/etc"]\n', f'data.dirs.0: {PATH}, got "/etc"'),
    ('[data]\ndirs = ["data/../../x"]\n', f'data.dirs.0: {PATH}, got "data/../../x"'),
    ('[data]\ndirs = ["data", "!.env"]\n',
     'data.dirs.1: a folder name must not contain !, got "!.env"'),
    ('[data]\ndirs = ["*"]\n', 'data.dirs.0: a folder name must not contain *, got "*"'),
    ('[data]\ndirs = ["a,b"]\n', 'data.dirs.0: a folder name must not contain ,, got "a,b"'),
    ('[dependencies]\nindex_url = "https://x.org/simple\\nRUN curl evil.sh | sh"\n',
     f'dependencies.index_url: {CONTROL}, got "https://x.org/simple\\nRUN curl evil.sh | sh"'),
    ('[dependencies]\nextra_index_urls = ["https://x.org/simple\\rUSER 0"]\n',
     f'dependencies.extra_index_urls.0: {CONTROL}, got "https://x.org/simple\\rUSER 0"'),
    ('[dependencies]\nindex_url = "ftp://x.org/simple"\n',
     'dependencies.index_url: expected an http://, https:// or file:// URL, '
     'got "ftp://x.org/simple"'),
    ('[dependencies]\nindex_url = "https://user:s3cret@x.org/simple extra"\n',
     'dependencies.index_url: must not contain spaces, got "https://***@x.org/simple extra"'),
    ('[build]\nbase_image = "python:3.11-slim\\nRUN id"\n',
     f'build.base_image: {CONTROL}, got "python:3.11-slim\\nRUN id"'),
    ('[build]\nbase_image = "python:3.11-slim;rm -rf /"\n',
     "build.base_image: expected an image reference such as python:3.11-slim or "
     'registry.example.org/team/python:3.11, got "python:3.11-slim;rm -rf /"'),
    ('[lab]\nhost = "0.0.0.0:2222:22"\n',
     'lab.host: expected an IP address such as 127.0.0.1, or a host name, '
     'got "0.0.0.0:2222:22"'),
    ('[serve]\nmodel = "../model.pkl"\n', f'serve.model: {PATH}, got "../model.pkl"'),
    ('[serve]\npredictor = "m:C\\nx"\n', 'serve.predictor: expected "module:Class", got "m:C\\nx"'),
    ('[services.api]\nmodel = "/etc/shadow"\n', f'services.api.model: {PATH}, got "/etc/shadow"'),
    ('[services.postgres]\nimage = "postgres:17\\nx"\n', f'services.postgres.image: {CONTROL}, '
     'got "postgres:17\\nx"'),
    ('name = "My.Project"\n', "name: expected lowercase letters, digits, '.', '_' and '-', "
     'starting with a letter or digit, such as "churn-model", got "My.Project"'),
    ('[services.postgres]\ndatabase = "My-DB"\n', "services.postgres.database: expected "
     "lowercase letters, digits and '_', starting with a letter or '_', at most 63, such as "
     '"analytics", got "My-DB"'),
    ('[system]\npackages = ["Foo_bar"]\n', "system.packages.0: expected a Debian package name "
     "(lowercase letters, digits, '+', '.' and '-'), such as \"libgomp1\", got \"Foo_bar\""),
    ('[services.lab.env]\n"A\\nB" = "1"\n',
     "services.lab.env: 'A\\nB': expected a variable name (letters, digits and '_'), got a table"),
]


@pytest.mark.parametrize(("toml", "problem"), CASES)
def test_bad_spec_string_is_one_line_naming_the_key(project: Path, toml: str,
                                                    problem: str) -> None:
    (project / "dockyard.toml").write_text(toml)
    for command in (["generate"], ["compose"]):
        assert_user_error(["-C", str(project), *command], project,
                          f"dockyard.toml: {problem}", HINT,
                          env={"DOCKER_HOST": "unix:///tmp/dockyard-no-engine.sock"})


def test_detected_index_url_is_checked_too(project: Path) -> None:
    (project / "requirements.txt").write_text(
        "--index-url https://user:tok@x.org/simple\x1bEVIL\npandas\n")
    assert_user_error(["-C", str(project), "generate"], project,
                      "the project's dependency files: index URL 'https://***@x.org/simple\\x1b"
                      f"EVIL': {CONTROL}",
                      "fix the --index-url / --extra-index-url line, or set [dependencies] "
                      "index_url in dockyard.toml")


def test_a_comma_in_the_project_path_stays_in_the_mount_source() -> None:
    w = Workload(name="", role="run", project="p", image="img",
                 mounts=(Mount("/home/me/a,target=/etc", "/w"),))
    argv = run_argv(w, detach=True)
    value = argv[argv.index("--mount") + 1]
    # Docker reads --mount as one CSV record.
    fields = next(csv.reader([value]))
    assert fields == ["type=bind", "source=/home/me/a,target=/etc", "target=/w"]
