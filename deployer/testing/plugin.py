"""The deployer's pytest plugin, registered through the package's ``pytest11`` entry point.

Each group of fixtures lives in its own module; this module only re-exports them so pytest sees them.
"""

from deployer.testing.fixtures_charts import *  # noqa: F403
from deployer.testing.fixtures_jupyterhub import *  # noqa: F403
from deployer.testing.fixtures_kube import *  # noqa: F403
