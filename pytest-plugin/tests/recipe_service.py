"""The managed service of the README's service recipe: ``python recipe_service.py`` (the hub runs it).

A reaper: every half second it lists the hub's users and deletes those whose name starts with ``temp-``. The hub
gives it its API URL and token in ``JUPYTERHUB_API_URL`` and ``JUPYTERHUB_API_TOKEN``.
"""

import os
import time

import requests

api = os.environ["JUPYTERHUB_API_URL"].rstrip("/")
session = requests.Session()
session.headers["Authorization"] = "token " + os.environ["JUPYTERHUB_API_TOKEN"]
print("reaper started", flush=True)
while True:
    for user in session.get(f"{api}/users").json():
        if user["name"].startswith("temp-"):
            session.delete(f"{api}/users/{user['name']}").raise_for_status()
            print("deleted", user["name"], flush=True)
    time.sleep(0.5)
