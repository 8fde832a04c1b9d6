"""The command line: the only code that uses click, and the one place errors are rendered.

Exit codes: 0 success, 1 a failed operation, 2 bad input (config, arguments, keys, tools), 3 a bug
(with traceback), 130 Ctrl-C, 143 SIGTERM. SIGTERM is turned into an exception so that every
``finally`` (temporary secrets, kubeconfigs) runs before the process exits.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import click

from deployer.errors import DeployerError


class Terminated(BaseException):
    """Raised in the main thread when the process gets SIGTERM."""


@dataclass
class App:
    """What every command needs: the environment of this run and where the config repository is.

    ``env`` is the one environment a run sees: commands hand it on to child processes, and options with an
    environment variable (``--repo``/``DEPLOYER_REPO``, ``--token``/``JUPYTERHUB_API_TOKEN``) read it, never
    ``os.environ``. ``start`` is where the walk up to the repository root begins (default: the current folder).
    """

    env: dict[str, str] = field(default_factory=dict)
    start: Path | None = None
    repo_override: str | None = None
    _root: Path | None = None

    @property
    def root(self) -> Path:
        if self._root is None:
            from deployer.repo import find_root

            self._root = find_root(self.start or Path.cwd(), self.repo_override)
        return self._root


class EnvOption(click.Option):
    """An option whose environment variable is read from ``App.env`` (click itself would read ``os.environ``)."""

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        app = ctx.find_object(App)
        env = app.env if app is not None else os.environ
        names = [self.envvar] if isinstance(self.envvar, str) else list(self.envvar or ())
        return next((env[name] for name in names if env.get(name)), None)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--repo",
    metavar="DIR",
    envvar="DEPLOYER_REPO",
    cls=EnvOption,
    help="The config repository (default: the first folder above the current one holding config/clusters/).",
)
@click.version_option(package_name="deployer")
@click.pass_context
def cli(ctx: click.Context, repo: str | None) -> None:
    """Deploy many JupyterHubs on many Kubernetes clusters from one git repository."""
    if not isinstance(ctx.obj, App):  # the group invoked directly, not through run()
        ctx.obj = App(env=dict(os.environ))
    ctx.obj.repo_override = repo


def _register() -> None:
    """Add every command; command modules import only click at load time (heavy imports happen inside them)."""
    from deployer.cli import (
        credentials,
        deploy,
        deploy_support,
        diff,
        export,
        gate,
        health,
        listing,
        matrix,
        new,
        orphans,
        remove,
        template,
        validate,
        values,
    )

    for command in (
        validate.validate,
        listing.list_clusters,
        matrix.generate_matrix,
        gate.gate,
        deploy.deploy,
        deploy_support.deploy_support,
        template.template,
        diff.diff,
        health.health_check,
        health.run_hub_health_check,
        credentials.use_cluster_credentials,
        export.export,
        new.new,
        remove.remove,
        orphans.orphans,
        values.values,
    ):
        cli.add_command(command)


_register()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:  # pragma: no cover - exercised by subprocess tests
    raise Terminated()


def main(argv: list[str] | None = None) -> None:
    if threading_is_main():
        signal.signal(signal.SIGTERM, _on_sigterm)
    code = run(argv)
    sys.exit(code)


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def run(argv: list[str] | None = None, env: Mapping[str, str] | None = None, start: Path | None = None) -> int:
    """Run the CLI and return its exit code; errors are rendered here and nowhere else.

    ``env`` is the environment of the run (default: a copy of ``os.environ``); it is the only one the commands
    read. ``start`` is where the search for the config repository begins (default: the current folder).
    """
    app = App(env=dict(os.environ if env is None else env), start=start)
    try:
        code = cli.main(args=argv, prog_name="deployer", standalone_mode=False, obj=app)
        # a command's click.exceptions.Exit(n) comes back as n (e.g. use-cluster-credentials returns its command's)
        return code if isinstance(code, int) and not isinstance(code, bool) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return 2 if exc.exit_code in (1, 2) else exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("Interrupted; cleaned up.", err=True)
        return 130
    except Terminated:
        click.echo("Terminated; cleaned up.", err=True)
        return 143
    except DeployerError as exc:
        click.echo(exc.render(), err=True)
        return exc.exit_code
    except BrokenPipeError:
        return 1
    except Exception:  # a bug: show it, distinctly
        traceback.print_exc()
        click.echo("This is a bug in the deployer; please report it with the output above.", err=True)
        return 3
