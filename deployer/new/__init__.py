"""``deployer new``: add a cluster or a hub to the fleet without editing YAML by hand.

- ``cluster.py``: ``plan_cluster`` -> the files of a new cluster folder (cluster.yaml, support values).
- ``hub.py``: ``plan_hub`` -> a hub's entry appended to its cluster.yaml (round-trip edit), its values file and its
  sops-encrypted secret values (a generated health-check token).
- ``files.py``: ``NewFile`` and ``written``: every file written, or none (undone if anything fails, validation
  included).

Everything is computed and checked before the first file is written.
"""
