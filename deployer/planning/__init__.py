"""CI planning: which releases a change deploys, in which stage, and which may go on after earlier stages.

- ``rules``: the path rules and the decision, pure: ``plan_rollout(fleet, changed, base=...) -> Rollout``;
- ``legs``: ``Rollout`` and its legs (``SupportLeg``, ``HubLeg``, ``Removed``), each with its JSON
  (``to_json``/``from_json``), and ``fold_legs`` (the matrix size limit), pure;
- ``inputs``: gathering the inputs (fleet, changed paths, base revision, chart dependencies):
  ``gather_rollout(root, request, env=, runner=)``;
- ``git``: the only module that runs git (through the ``Runner``);
- ``gate``: the legs of the next stage that may run, from the reports earlier legs wrote, pure;
- ``table``: a rollout as a markdown table, pure.

Not to be confused with ``deployer.deploy.jobs``, which orders one cluster's releases for ``deployer deploy``.
"""
