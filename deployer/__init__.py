"""deployer: run many JupyterHubs on many Kubernetes clusters from one git repository."""

__version__ = "0.1.0"
