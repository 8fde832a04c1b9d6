"""A small custom JupyterHub authenticator: the example of testing a hub component end to end with the
deployer's pytest plugin (``tests/testing/test_jupyterhub_plugin.py``; the README shows the same).

Users who know the shared password get in; names are normalised (trimmed, lower-cased); reserved names
never get in, whatever the password."""

from jupyterhub.auth import Authenticator
from traitlets import Set, Unicode


class SharedPasswordAuthenticator(Authenticator):
    shared_password = Unicode("", config=True, help="The password every user logs in with.")
    reserved_names = Set({"root", "admin"}, config=True, help="Names that may never log in.")

    def normalize_username(self, username: str) -> str:
        return super().normalize_username(username.strip())

    async def authenticate(self, handler, data):
        name = self.normalize_username(data.get("username", ""))
        if not self.shared_password or data.get("password") != self.shared_password:
            self.log.warning("wrong shared password for %s", name)
            return None
        if name in self.reserved_names:
            self.log.warning("reserved name %s refused", name)
            return None
        return {"name": name, "auth_state": {"via": "shared-password"}}
