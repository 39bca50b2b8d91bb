"""A failed build is told in a few lines: the step, the tools' own error lines, the log file."""

from __future__ import annotations

from pathlib import Path

from dockyard.engine.images import _build_error, log_hint

HERE = Path(__file__).parent


def test_dpkg_failure_shows_dpkgs_own_lines_once_and_not_the_run_line() -> None:
    # A real BuildKit log: default-jre-headless on a base whose /usr/share/man was deleted.
    log = (HERE / "buildkit-dpkg-failure.log").read_text()
    err = _build_error(log, ("build",))
    assert err.message == ("build failed at [runtime 2/8] RUN rm -f "
                           "/etc/apt/apt.conf.d/docker-clean && apt-get upd...: exit code 100")
    assert err.stderr_tail.splitlines() == [
        "update-alternatives: error: error creating symbolic link "
        "'/usr/share/man/man1/java.1.gz.dpkg-tmp': No such file or directory",
        "dpkg: error processing package openjdk-17-jre-headless:amd64 (--configure):",
        "dpkg: dependency problems prevent configuration of default-jre-headless:",
        "dpkg: error processing package default-jre-headless (--configure):",
        "Errors were encountered while processing:",
        "E: Sub-process /usr/bin/dpkg returned an error code (1)",
    ]
    assert err.log == log  # the whole of it, for .dockyard/build.log


def test_without_error_lines_the_steps_last_lines_are_shown() -> None:
    log = "\n".join([
        "#7 [runtime 3/5] RUN python3 make.py",
        "#7 0.101 step one",
        "#7 0.202 step two",
        "#7 ERROR: process \"/bin/sh -c python3 make.py\" did not complete successfully: "
        "exit code: 3",
        "------",
    ])
    err = _build_error(log, ("build",))
    assert err.message == "build failed at [runtime 3/5] RUN python3 make.py: exit code 3"
    assert err.stderr_tail.splitlines() == ["step one", "step two"]
    assert err.hint == "rerun with -v for the full build log; fix the cause and rerun"


def test_an_error_before_any_step_shows_the_engines_last_line() -> None:
    log = "#1 [internal] load build definition\nfailed to read dockerfile: no such file\n"
    err = _build_error(log, ("build",))
    assert err.message == "build failed: failed to read dockerfile: no such file"


def test_the_hint_names_the_log_file() -> None:
    assert log_hint(Path("/p/.dockyard/build.log")) == (
        "the full build log is in /p/.dockyard/build.log; fix the cause and rerun")
