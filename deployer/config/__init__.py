"""The fleet's configuration: frozen models (``model``), loading and validation (``load``, ``checks``)."""
