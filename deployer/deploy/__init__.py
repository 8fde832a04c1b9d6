"""Deploying a cluster's releases with helm: the library behind ``deploy``, ``deploy-support``, ``template``, ``diff``.

Modules (each states its contract):

- ``jobs``: ``order_releases(cluster, hubs, support=) -> ReleaseOrder`` (pure): support, canaries, prod hubs;
- ``engine``: ``deploy(root, cluster, hubs, env=, support=, options=, runner=, on_event=) -> Report``;
- ``report``: ``Report``/``ReleaseResult``, the ``--report`` JSON and the summary table;
- ``dependencies``: chart dependencies built at most once per chart per run;
- ``script``: ``dry_run_script(...)``, the same deploy as plain helm + sops commands;
- ``preview``: ``template(...)`` and ``diff(...)``;
- ``manifests``: Secret redaction and manifest diffs (pure).

Import from the submodules; this package imports nothing at load time, to keep ``deployer --help`` fast.
"""
