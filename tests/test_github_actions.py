"""tests/github_actions.py, the stand-in for the GitHub Actions runner that executes our deploy workflow: it refuses
what it does not implement, and models fail-fast as GitHub does."""

from __future__ import annotations

import os
import time

import pytest

from github_actions import Runner, WorkflowError


def workflow(*, strategy: dict | None = None, job: dict | None = None, step: dict | None = None) -> dict:
    """One matrix job of two legs: leg 0 fails at once, leg 1 takes a while, then an always() and a plain step."""
    return {
        "on": {"push": None},
        "jobs": {
            "legs": {
                "runs-on": "ubuntu-latest",
                "strategy": {"matrix": {"include": [{"n": 0}, {"n": 1}]}, **(strategy or {})},
                **(job or {}),
                "steps": [
                    {
                        "name": "work",
                        "run": 'if [ "${{ matrix.n }}" = 0 ]; then exit 1; fi; sleep 3; echo done',
                        **(step or {}),
                    },
                    {"name": "upload", "if": "always()", "run": "echo uploaded"},
                    {"name": "after", "run": "echo after"},
                ],
            }
        },
    }


def run(tmp_path, wf: dict) -> list:
    (tmp_path / "origin").mkdir(exist_ok=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    return Runner(wf, tmp_path / "origin", tmp_path / "runner", env, {"event_name": "push"}).run()["legs"]


@pytest.mark.parametrize(
    "change",
    [
        {"job": {"continue-on-error": True}},
        {"job": {"defaults": {"run": {"shell": "sh"}}}},
        {"job": {"container": "python:3.11"}},
        {"strategy": {"max-parallel": 1}},
        {"step": {"continue-on-error": True}},
        {"step": {"working-directory": "sub"}},
        {"step": {"shell": "python"}},
    ],
    ids=[
        f"{level}-{key}"
        for level, key in [
            ("job", "continue-on-error"),
            ("job", "defaults"),
            ("job", "container"),
            ("strategy", "max-parallel"),
            ("step", "continue-on-error"),
            ("step", "working-directory"),
            ("step", "shell"),
        ]
    ],
)
def test_keys_it_does_not_implement_are_refused(change, tmp_path) -> None:
    with pytest.raises(WorkflowError, match="does not implement"):
        run(tmp_path, workflow(**change))


def test_a_matrix_of_axes_and_workflow_defaults_are_refused(tmp_path) -> None:
    wf = workflow()
    wf["jobs"]["legs"]["strategy"]["matrix"]["os"] = ["a", "b"]
    with pytest.raises(WorkflowError, match=r"strategy.matrix: this runner does not implement \['os'\]"):
        run(tmp_path, wf)
    wf = {**workflow(), "defaults": {"run": {"working-directory": "sub"}}}
    with pytest.raises(WorkflowError, match=r"the workflow: this runner does not implement \['defaults'\]"):
        run(tmp_path, wf)


def test_keys_that_change_nothing_here_are_accepted(tmp_path) -> None:
    legs = run(
        tmp_path, workflow(strategy={"fail-fast": False}, job={"timeout-minutes": 5}, step={"timeout-minutes": 1})
    )
    assert [leg.result for leg in legs] == ["failure", "success"]


def test_fail_fast_is_on_by_default_and_cancels_the_legs_still_running(tmp_path) -> None:
    start = time.monotonic()
    legs = run(tmp_path, workflow())
    assert time.monotonic() - start < 2.5  # leg 1's 3 s step was stopped
    assert [leg.result for leg in legs] == ["failure", "cancelled"]
    assert [(s.name, s.outcome) for s in legs[1].steps] == [
        ("work", "cancelled"),
        ("upload", "success"),  # if: always() runs in a cancelled job, as on GitHub
        ("after", "skipped"),
    ]
    assert "done" not in legs[1].steps[0].stdout


def test_fail_fast_false_lets_the_other_legs_finish(tmp_path) -> None:
    legs = run(tmp_path, workflow(strategy={"fail-fast": False}))
    assert [leg.result for leg in legs] == ["failure", "success"]
    assert [s.outcome for s in legs[1].steps] == ["success", "success", "success"]
    assert legs[1].steps[0].stdout == "done\n"
