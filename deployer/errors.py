"""Typed errors. Library code raises these; ``deployer.cli`` renders them once, at the edge.

Exit codes: bad input the user must fix (config, arguments, missing tools or keys) -> 2; a failed
operation -> 1. Anything else escaping to the CLI is a bug and shows a traceback (exit 3).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the configuration, located in a file (and line, where there is one).

    ``path`` is relative to the config repository root, in POSIX form. ``warning``: worth a look but not wrong
    (``deployer validate`` fails on warnings only with ``--strict``; other commands print them and go on).
    """

    path: str
    line: int | None
    message: str
    warning: bool = False

    def render(self) -> str:
        """``[warning: ]path[:line]: message`` on ONE line: control characters a value brought in (a hub name
        ending in a newline) are shown escaped (``\\n``)."""
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{'warning: ' if self.warning else ''}{where}: {self.message}".translate(_ESCAPED)


def count_line(problems: list[Problem]) -> str:
    """``N problem(s) found.``, or ``N problem(s), M warning(s) found.`` when some are warnings."""
    warnings = sum(p.warning for p in problems)
    errors = len(problems) - warnings
    return f"{errors} problem(s), {warnings} warning(s) found." if warnings else f"{errors} problem(s) found."


_ESCAPED = {code: repr(chr(code))[1:-1] for code in (*range(32), 127)}


class DeployerError(Exception):
    """Base of every error the deployer raises on purpose."""

    exit_code = 1

    def render(self) -> str:
        return str(self)


class UsageError(DeployerError):
    """Bad input on the command line or in the environment: the user must change something."""

    exit_code = 2


class ConfigError(DeployerError):
    """The configuration has one or more problems; each names its file (and line)."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the configuration")

    def render(self) -> str:
        lines = [p.render() for p in self.problems]
        lines.append(count_line(self.problems))
        if self.problems and all(p.warning for p in self.problems):
            lines.append("--strict: warnings fail the check.")
        return "\n".join(lines)


class ToolMissingError(UsageError):
    """A command-line tool the deployer drives (helm, kubectl, sops) is not installed."""


class SecretsError(DeployerError):
    """sops could not decrypt a file. Raised with a message that never holds secret content."""

    exit_code = 2

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class NoKeyError(SecretsError):
    """sops found no key for the file here (no SOPS_AGE_KEY_FILE, no cloud login): one cause for many files."""


class CommandError(DeployerError):
    """A subprocess (helm, kubectl, ...) failed. ``argv`` and ``stderr`` are already redacted."""

    exit_code = 1

    def __init__(self, argv: list[str], returncode: int, stderr: str):
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"{' '.join(argv)} exited with {returncode}")

    def render(self) -> str:
        tail = "\n".join(self.stderr.strip().splitlines()[-20:])
        return f"{self}\n{tail}" if tail else str(self)


class HealthCheckError(DeployerError):
    """A hub failed its health check (the report names the step and the hub's message): exit 1."""

    exit_code = 1


class AuthError(DeployerError):
    """A cluster's credentials or endpoint could not be obtained; the message says what to do.

    ``provider`` and ``cluster`` name what was being reached; ``kind`` is one of ``no-credentials``,
    ``access-denied``, ``not-found``, ``rejected``, ``unreachable``, ``missing-extra`` or ``failed``. Bad or missing
    credentials and config are the user's to fix (exit 2); an unreachable endpoint is a failed operation (exit 1).
    """

    exit_code = 2

    def __init__(self, provider: str, cluster: str, message: str, kind: str = "failed"):
        self.provider = provider
        self.cluster = cluster
        self.kind = kind
        self.message = message
        if kind == "unreachable":
            self.exit_code = 1
        super().__init__(f"cluster '{cluster}' ({provider}): {message}")
