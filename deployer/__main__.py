"""``python -m deployer`` is the ``deployer`` command."""

from deployer.cli import main

if __name__ == "__main__":
    main()
