"""The fleet's configuration: frozen models (``model``), loading (``load``), the rules for listed files (``files``),
schema messages (``schema``) and chart values (``helmvalues``, ``chartvalues``); every check runs in
``deployer.validate``."""
