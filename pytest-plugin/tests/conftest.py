"""The plugin's own tests: pytester runs child sessions for the fixture-level checks."""

pytest_plugins = ["pytester"]
