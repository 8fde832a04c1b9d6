"""The fleet as it runs in its clusters, against the configuration: what a removed hub left behind.

- ``live.py``: what a cluster holds, read through ``deployer.kube``: helm releases (from helm's own release
  records), namespaces, persistent volume claims;
- ``orphans.py``: releases and namespaces a cluster's config no longer knows (``deployer orphans``);
- ``remove.py``: removing one hub that is gone from the config (``deployer remove``).
"""
