"""The deployer's pytest plugin, registered through the package's ``pytest11`` entry point (the real-JupyterHub
fixtures ``jupyterhub`` and ``jupyterhub_session`` come from the separate ``pytest-realhub`` distribution in
``pytest-plugin/``).

Each group of fixtures lives in its own module; this module only re-exports them so pytest sees them.
"""

from deployer.testing.fixtures_charts import *  # noqa: F403
from deployer.testing.fixtures_kube import *  # noqa: F403
