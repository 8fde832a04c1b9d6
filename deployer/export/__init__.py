"""Right to Replicate: ``deployer export CLUSTER HUB OUTDIR``, a folder that deploys with plain helm.

Modules: ``bundle`` (``export_hub``: checks, builds chart dependencies, writes the folder atomically),
``notes`` (pure: which values are specific to our infrastructure, and the README), ``script`` (pure: the
``deploy.sh`` text). Import from the submodules; nothing is imported at package load.
"""
