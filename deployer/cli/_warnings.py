"""What the commands that validate before they act (deploy, template, diff, export) share: printing the
configuration's warnings (``deployer.config.lint``) on stderr. Warnings never stop these commands; only
``deployer validate --strict`` fails on them. Not a command."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from deployer.cli import App


def echo_warnings(app: App, cluster: str, hubs: Sequence[str] | None = None) -> None:
    """Print each warning of ``cluster`` (only ``hubs``' files when given; the whole cluster otherwise)."""
    from deployer.config.lint import warnings_for

    for problem in warnings_for(app.root, cluster, hubs or ()):
        click.echo(problem.render(), err=True)
