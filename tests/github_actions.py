"""A small, strict stand-in for the GitHub Actions runner, enough to EXECUTE a workflow of ours in a test.

What it does as GitHub does: jobs in ``needs`` order (a matrix's legs at the same time), each in a fresh checkout
(a copy of the origin work tree); job and step ``if:`` (a status function implied when none is written);
``strategy.matrix.include`` from ``fromJSON(...)``, one leg per entry with ``matrix.*`` and
``strategy.job-index``; ``strategy.fail-fast`` (default true: when a leg fails, the legs still running are cancelled:
their running step is stopped, later steps run only under ``always()``/``cancelled()``, and the leg's result is
``cancelled``); ``run:`` steps under ``bash --noprofile --norc -e`` with ``GITHUB_OUTPUT``,
``GITHUB_ENV``, ``GITHUB_PATH`` and ``GITHUB_STEP_SUMMARY`` as fresh files per step; step outputs -> job
``outputs`` -> ``needs.<job>.outputs``; and artifacts kept in a folder between jobs (``upload-artifact`` of a
path, ``download-artifact`` by name or by ``pattern`` into ``path/<artifact>/``, names unique as v4 requires).

What it refuses: any ``${{ }}`` expression, ``uses:`` or key (of the workflow, a job, its strategy and matrix, a
step) it does not know, so a workflow change that this runner cannot honour fails the test instead of being
skipped silently; keys that cannot change the outcome here (``timeout-minutes``, ``runs-on``, ...) are listed in
``INERT`` and ignored. Set-up actions (checkout aside) are no-ops: the
test's environment already holds the deployer, the tools and the age key.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NO_OP_ACTIONS = ("actions/setup-python@", "actions/setup-node@", "./.github/actions/setup-deployer")
TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+)|(?P<op>&&|\|\||==|!=|!|\(|\)|,)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*))"
)
FUNCTIONS = {"always", "success", "failure", "cancelled", "fromJSON", "join", "toJSON"}
STEP_TIMEOUT = 600  # seconds; a stuck step fails the test instead of hanging it

# The keys this runner honours, at each level; anything else is refused (WorkflowError).
WORKFLOW_KEYS = {"env", "jobs"}
JOB_KEYS = {"if", "needs", "outputs", "strategy", "steps", "env"}
STRATEGY_KEYS = {"matrix", "fail-fast"}
MATRIX_KEYS = {"include"}  # a matrix of its own axes (os: [...]) is not implemented
STEP_KEYS = {"name", "id", "if", "uses", "with", "run", "env"}
# Keys accepted and ignored: they cannot change what happens here (which steps run, their outcome, outputs,
# artifacts). Not among them: continue-on-error, working-directory, shell, defaults, max-parallel, container,
# services, environment, which would.
INERT = {
    "name",  # of the workflow or a job (a step's name labels its StepRun)
    "run-name",
    True,  # `on:` (YAML 1.1 reads the key as true): the test says which event ran
    "on",
    "permissions",  # of the GITHUB_TOKEN; nothing here uses it
    "concurrency",  # queueing of whole runs
    "runs-on",
    "timeout-minutes",  # GitHub's limit; steps here stop after STEP_TIMEOUT
}


class WorkflowError(AssertionError):
    """The workflow uses something this runner does not implement."""


@dataclass
class StepRun:
    name: str
    outcome: str  # success | failure | skipped
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0


@dataclass
class JobRun:
    """One job, or one leg of a matrix job."""

    job: str
    matrix: dict = field(default_factory=dict)
    result: str = "skipped"  # success | failure | skipped
    steps: list[StepRun] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""


class Runner:
    """``Runner(workflow, origin, workdir, env, event=...)``; ``run()`` -> {job: [JobRun, ...]}.

    ``env`` is the base environment of every step (PATH, HOME, KUBECONFIG, ...); ``github`` the ``github``
    context (``event_name``, ``event``, ...).
    """

    def __init__(self, workflow: Mapping, origin: Path, workdir: Path, env: Mapping[str, str], github: Mapping) -> None:
        check_keys(workflow)
        self.workflow, self.origin, self.workdir = workflow, origin, workdir
        self.env, self.github = dict(env), dict(github)
        self.artifacts = workdir / "artifacts"
        self.artifacts.mkdir(parents=True)
        self.runs: dict[str, list[JobRun]] = {}

    # -- expressions -----------------------------------------------------------------------------------------------
    def evaluate(self, expr: str, ctx: Mapping[str, Any]) -> Any:
        source, pos, implied = [], 0, True
        while pos < len(expr.rstrip()):
            m = TOKEN.match(expr, pos)
            if not m:
                raise WorkflowError(f"cannot parse expression {expr!r} at {expr[pos:]!r}")
            pos = m.end()
            if m["str"]:
                source.append(repr(m["str"][1:-1].replace("''", "'")))
            elif m["num"]:
                source.append(m["num"])
            elif m["op"]:
                source.append({"&&": " and ", "||": " or ", "!": " not "}.get(m["op"], m["op"]))
            elif m["name"] in FUNCTIONS and expr[pos:].lstrip().startswith("("):
                implied = implied and m["name"] not in ("always", "success", "failure", "cancelled")
                source.append(f"_{m['name']}")
            else:
                source.append(f"_get({m['name']!r})")
        functions = {
            "_always": lambda: True,
            "_success": lambda: ctx["_status"] == "success",
            "_failure": lambda: ctx["_status"] == "failure",
            "_cancelled": lambda: ctx["_status"] == "cancelled",
            "_fromJSON": json.loads,
            "_toJSON": json.dumps,
            "_join": lambda items, sep=",": sep.join(items),
        }

        def get(path: str) -> Any:
            value: Any = ctx
            for part in path.split("."):
                if part not in (value if isinstance(value, dict) else {}):
                    if path.split(".")[0] not in ctx:
                        raise WorkflowError(f"unknown context in {expr!r}: {path}")
                    return None
                value = value[part]
            return value

        value = eval("".join(source), {"__builtins__": {}, "_get": get, **functions})
        return value if not ctx.get("_is_if") or not implied else (value and ctx["_status"] == "success")

    def interpolate(self, text: Any, ctx: Mapping[str, Any]) -> Any:
        if not isinstance(text, str):
            return text
        whole = re.fullmatch(r"\$\{\{(.*?)\}\}", text.strip(), re.S)
        if whole:
            return self.evaluate(whole[1], ctx)
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: _text(self.evaluate(m[1], ctx)), text)

    def condition(self, text: Any, ctx: Mapping[str, Any]) -> bool:
        if text is None:
            return ctx["_status"] == "success"
        expr = text.strip()
        expr = expr[3:-2] if expr.startswith("${{") else expr
        return bool(self.evaluate(expr, {**ctx, "_is_if": True}))

    # -- jobs ------------------------------------------------------------------------------------------------------
    def run(self) -> dict[str, list[JobRun]]:
        jobs = self.workflow["jobs"]
        pending = list(jobs)
        while pending:
            ready = [j for j in pending if all(n in self.runs for n in _needs(jobs[j]))]
            if not ready:
                raise WorkflowError(f"a cycle in needs: {pending}")
            for name in ready:
                pending.remove(name)
                self.runs[name] = self._job(name, jobs[name])
        return self.runs

    def _result(self, name: str) -> str:
        results = {r.result for r in self.runs[name]}
        for result in ("failure", "cancelled", "success"):
            if result in results:
                return result
        return "skipped"

    def _job(self, name: str, job: Mapping) -> list[JobRun]:
        needs = {
            n: {"result": self._result(n), "outputs": self.runs[n][0].outputs if len(self.runs[n]) == 1 else {}}
            for n in _needs(job)
        }
        status = "success" if all(n["result"] == "success" for n in needs.values()) else "failure"
        ctx = {
            "github": self.github,
            "needs": needs,
            "env": {**(self.workflow.get("env") or {}), **(job.get("env") or {})},
            "secrets": {},
            "_status": status,
        }
        if not self.condition(job.get("if"), ctx):
            return [JobRun(name)]
        strategy = job.get("strategy") or {}
        include = self.interpolate(strategy.get("matrix", {}).get("include"), ctx)
        legs = [dict(entry) for entry in include] if include is not None else [None]
        fail_fast = self.interpolate(strategy.get("fail-fast", True), ctx)
        if not isinstance(fail_fast, bool):
            raise WorkflowError(f"job {name}: fail-fast must be true or false, not {fail_fast!r}")
        # set when a leg fails under fail-fast: the legs still running are cancelled
        stop = threading.Event()
        with ThreadPoolExecutor(max_workers=len(legs)) as pool:  # legs run side by side, as on GitHub
            futures = [
                pool.submit(self._leg, name, job, {**ctx, "_status": "success"}, matrix, i, stop, fail_fast)
                for i, matrix in enumerate(legs)
            ]
            return [f.result() for f in futures]

    def _leg(
        self,
        name: str,
        job: Mapping,
        ctx: dict,
        matrix: dict | None,
        index: int,
        stop: threading.Event,
        fail_fast: bool,
    ) -> JobRun:
        run = JobRun(name, matrix or {})
        ctx = {**ctx, "matrix": matrix or {}, "strategy": {"job-index": index}, "steps": {}}
        workspace = self.workdir / "jobs" / f"{name}-{index}"
        temp = self.workdir / "runner-temp" / f"{name}-{index}"
        workspace.mkdir(parents=True)
        temp.mkdir(parents=True)
        job_env = {
            **self.env,
            **{k: _text(self.interpolate(v, ctx)) for k, v in ctx["env"].items()},
            "GITHUB_WORKSPACE": str(workspace),
            "RUNNER_TEMP": str(temp),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": str(self.github.get("event_name", "")),
        }
        failed = cancelled = False
        for i, step in enumerate(job["steps"]):
            cancelled = cancelled or stop.is_set()
            ctx["_status"] = "cancelled" if cancelled else "failure" if failed else "success"
            label = step.get("name") or step.get("uses") or step.get("run", "").splitlines()[0]
            if not self.condition(step.get("if"), ctx):
                run.steps.append(StepRun(self.interpolate(label, ctx), "skipped"))
                continue
            files = {
                key: temp / f"{key.lower()}-{i}"
                for key in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
            }
            for path in files.values():
                path.touch()
            env = {
                **job_env,
                **{k: _text(self.interpolate(v, ctx)) for k, v in (step.get("env") or {}).items()},
                **{k: str(v) for k, v in files.items()},
            }
            started = time.monotonic()
            done = self._step(step, ctx, workspace, env, temp / f"step-{i}.sh", None if cancelled else stop)
            done.seconds = time.monotonic() - started
            done.name = _text(self.interpolate(label, ctx))
            run.steps.append(done)
            failed = failed or done.outcome == "failure"
            cancelled = cancelled or done.outcome == "cancelled"
            if "id" in step:
                ctx["steps"][step["id"]] = {"outputs": _read_pairs(files["GITHUB_OUTPUT"]), "outcome": done.outcome}
            job_env.update(_read_pairs(files["GITHUB_ENV"]))
            for line in files["GITHUB_PATH"].read_text().splitlines():
                job_env["PATH"] = f"{line}:{job_env['PATH']}"
            run.summary += files["GITHUB_STEP_SUMMARY"].read_text()
        run.result = "cancelled" if cancelled else "failure" if failed else "success"
        if run.result == "failure" and fail_fast:
            stop.set()
        ctx["_status"] = run.result
        run.outputs = {k: _text(self.interpolate(v, ctx)) for k, v in (job.get("outputs") or {}).items()}
        return run

    def _step(
        self,
        step: Mapping,
        ctx: Mapping,
        workspace: Path,
        env: dict[str, str],
        script: Path,
        stop: threading.Event | None,
    ) -> StepRun:
        """Run one step; a ``run:`` step is stopped (outcome ``cancelled``) when ``stop`` is set meanwhile."""
        if "run" in step:
            script.write_text(self.interpolate(step["run"], ctx))
            return _run_script(script, workspace, env, stop)
        uses, given = step["uses"], {k: self.interpolate(v, ctx) for k, v in (step.get("with") or {}).items()}
        if uses.startswith("actions/checkout@"):
            shutil.copytree(self.origin, workspace, dirs_exist_ok=True, symlinks=True)
        elif uses.startswith("actions/upload-artifact@"):
            source, target = workspace / given["path"], self.artifacts / given["name"]
            if target.exists():
                return StepRun("", "failure", stderr=f"an artifact named {given['name']!r} exists (v4: unique)")
            if not source.exists():
                if given.get("if-no-files-found") != "ignore":
                    return StepRun("", "failure", stderr=f"no files at {given['path']}")
            elif source.is_dir():
                shutil.copytree(source, target)
            else:
                target.mkdir()
                shutil.copy2(source, target / source.name)
        elif uses.startswith("actions/download-artifact@"):
            dest = workspace / given.get("path", ".")
            if "name" in given:
                if not (self.artifacts / given["name"]).is_dir():
                    return StepRun("", "failure", stderr=f"no artifact named {given['name']!r}")
                shutil.copytree(self.artifacts / given["name"], dest, dirs_exist_ok=True)
            else:
                for found in sorted(self.artifacts.iterdir()):
                    if fnmatch.fnmatchcase(found.name, given["pattern"]):
                        shutil.copytree(found, dest / found.name, dirs_exist_ok=True)
        elif not uses.startswith(NO_OP_ACTIONS):
            raise WorkflowError(f"this runner does not know the action {uses}")
        return StepRun("", "success")


def check_keys(workflow: Mapping) -> None:
    """Refuse any key this runner does not honour (see WORKFLOW_KEYS ... and INERT)."""

    def unknown(where: str, mapping: Any, known: set) -> None:
        if not isinstance(mapping, Mapping):
            raise WorkflowError(f"{where} must be a mapping")
        extra = [key for key in mapping if key not in known and key not in INERT]
        if extra:
            raise WorkflowError(f"{where}: this runner does not implement {extra}")

    unknown("the workflow", workflow, WORKFLOW_KEYS)
    for name, job in workflow["jobs"].items():
        unknown(f"job {name}", job, JOB_KEYS)
        if "strategy" in job:
            unknown(f"job {name}: strategy", job["strategy"], STRATEGY_KEYS)
            unknown(f"job {name}: strategy.matrix", job["strategy"].get("matrix"), MATRIX_KEYS)
        for i, step in enumerate(job["steps"]):
            unknown(f"job {name}, step {i + 1}", step, STEP_KEYS)
            if ("run" in step) == ("uses" in step):
                raise WorkflowError(f"job {name}, step {i + 1}: exactly one of run and uses")


def _run_script(script: Path, workspace: Path, env: dict[str, str], stop: threading.Event | None) -> StepRun:
    """``bash -e script`` in its own process group, stopped (the whole group) on ``stop`` or after STEP_TIMEOUT."""
    proc = subprocess.Popen(
        ["bash", "--noprofile", "--norc", "-e", str(script)],
        cwd=workspace,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + STEP_TIMEOUT
    while True:
        try:
            out, err = proc.communicate(timeout=0.2)
            return StepRun("", "success" if proc.returncode == 0 else "failure", out, err)
        except subprocess.TimeoutExpired:
            cancelled = stop is not None and stop.is_set()
            if cancelled or time.monotonic() > deadline:
                break
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    note = "cancelled: another leg of the matrix failed (fail-fast)" if cancelled else f"timed out ({STEP_TIMEOUT} s)"
    return StepRun("", "cancelled" if cancelled else "failure", out, err + f"\n{note}")


def _needs(job: Mapping) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _read_pairs(path: Path) -> dict[str, str]:
    """``name=value`` lines and ``name<<DELIMITER`` blocks, as GitHub reads its environment files."""
    pairs, lines = {}, path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, marker = line.split("<<", 1)
            end = lines.index(marker, i + 1)
            pairs[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            pairs[name] = value
        i += 1
    return pairs
