"""Stub command-line tools for running printed scripts (``deploy --dry-run``) without clouds: ``gcloud``, ``aws``,
``az``, ``kubelogin``, ``helm``, ``kubectl`` and ``sops``, put first on PATH by ``install_stubs(folder, ...)``.

Each stub checks its arguments against the real tool's documented syntax (subcommand names, the flags each takes,
which are required or exclusive, flags that need a value getting one), records the call (tool, argv and the
environment variables that say where credentials go) as a JSON line in ``$STUB_LOG``, and does what the real tool
leaves behind: ``gcloud auth activate-service-account`` stores the key in ``$CLOUDSDK_CONFIG`` (default
``~/.config/gcloud``), ``get-credentials``/``update-kubeconfig`` write a kubeconfig where the real tool would, ``az
login`` writes its token cache into ``$AZURE_CONFIG_DIR`` (default ``~/.azure``). Anything else (an unknown
subcommand such as ``az ask``, an unknown flag, a missing required flag or value) fails loudly: exit 2 and a line
on stderr, recorded too. ``sops`` checks its arguments and then runs the real sops (``$STUB_REAL_SOPS``), so
decryption and ``--extract`` behave exactly as they do for a person. ``helm`` checks the flags of helm
``$STUB_HELM_MAJOR`` (``--wait`` is a boolean in helm 3 and takes ``watcher``/``hookOnly``/``legacy`` in helm 4),
reads every ``--values`` file (so ``<(sops ...)`` must deliver) and needs the chart folder and kubeconfig to exist.

Syntax sources: ``gcloud auth activate-service-account --help``, ``gcloud container clusters get-credentials
--help``, ``aws eks update-kubeconfig help``, ``az login --help``, ``az aks get-credentials --help``, ``kubelogin
convert-kubeconfig --help``, ``helm upgrade --help`` (3 and 4), ``sops --help``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

V, B = "value", "bool"  # a flag taking a value, a boolean flag

SPECS: dict[str, dict] = {
    "gcloud": {
        "global": {
            "--project": V,
            "--account": V,
            "--configuration": V,
            "--verbosity": V,
            "--quiet": B,
            "-q": B,
            "--format": V,
        },
        "commands": {
            ("auth", "activate-service-account"): {
                "positionals": (0, 1),
                "flags": {"--key-file": V, "--password-file": V, "--prompt-for-password": B},
                "one_of": [("--key-file",)],
            },
            ("container", "clusters", "get-credentials"): {
                "positionals": (1, 1),
                "flags": {
                    "--location": V,
                    "--zone": V,
                    "-z": V,
                    "--region": V,
                    "--internal-ip": B,
                    "--dns-endpoint": B,
                },
                "one_of": [("--location", "--zone", "-z", "--region")],
            },
        },
    },
    "aws": {
        "global": {
            "--region": V,
            "--profile": V,
            "--output": V,
            "--debug": B,
            "--no-cli-pager": B,
            "--endpoint-url": V,
        },
        "commands": {
            ("eks", "update-kubeconfig"): {
                "positionals": (0, 0),
                "flags": {
                    "--name": V,
                    "--role-arn": V,
                    "--kubeconfig": V,
                    "--alias": V,
                    "--user-alias": V,
                    "--dry-run": B,
                    "--verbose": B,
                    "--assume-role-arn": V,
                },
                "one_of": [("--name",)],
            },
        },
    },
    "az": {
        "global": {"--output": V, "-o": V, "--only-show-errors": B, "--debug": B, "--verbose": B, "--query": V},
        "commands": {
            ("login",): {
                "positionals": (0, 0),
                "flags": {
                    "--service-principal": B,
                    "--username": V,
                    "-u": V,
                    "--password": V,
                    "-p": V,
                    "--certificate": V,
                    "--tenant": V,
                    "-t": V,
                    "--allow-no-subscriptions": B,
                    "--federated-token": V,
                },
                "one_of": [
                    ("--service-principal",),
                    ("--username", "-u"),
                    ("--password", "-p", "--certificate", "--federated-token"),
                    ("--tenant", "-t"),
                ],
            },
            ("aks", "get-credentials"): {
                "positionals": (0, 0),
                "flags": {
                    "--resource-group": V,
                    "-g": V,
                    "--name": V,
                    "-n": V,
                    "--subscription": V,
                    "--file": V,
                    "-f": V,
                    "--overwrite-existing": B,
                    "--admin": B,
                    "-a": B,
                    "--context": V,
                    "--format": V,
                    "--public-fqdn": B,
                },
                "one_of": [("--resource-group", "-g"), ("--name", "-n")],
            },
        },
    },
    "kubelogin": {
        "global": {"--kubeconfig": V, "--context": V, "-v": V},
        "commands": {
            ("convert-kubeconfig",): {
                "positionals": (0, 0),
                "flags": {
                    "--login": V,
                    "-l": V,
                    "--client-id": V,
                    "--tenant-id": V,
                    "--server-id": V,
                    "--environment": V,
                    "--token-cache-dir": V,
                },
                "one_of": [("--login", "-l")],
                "choices": {
                    ("--login", "-l"): {
                        "devicecode",
                        "interactive",
                        "spn",
                        "ropc",
                        "msi",
                        "azurecli",
                        "azd",
                        "workloadidentity",
                        "azurepipelines",
                    }
                },
            },
        },
    },
    "sops": {
        "global": {
            "--decrypt": B,
            "-d": B,
            "--extract": V,
            "--output-type": V,
            "--input-type": V,
            "--output": V,
            "--ignore-mac": B,
        },
        "commands": {
            (): {"positionals": (1, 1), "flags": {}, "one_of": [("--decrypt", "-d")]},
            ("decrypt",): {"positionals": (1, 1), "flags": {}, "one_of": []},
        },
    },
    "helm": {
        "global": {"--kubeconfig": V, "--kube-context": V, "--namespace": V, "-n": V, "--debug": B},
        "commands": {
            ("upgrade",): {
                "positionals": (2, 2),
                "flags": {
                    "--install": B,
                    "-i": B,
                    "--create-namespace": B,
                    "--values": V,
                    "-f": V,
                    "--timeout": V,
                    "--wait": "wait",
                    "--atomic": B,
                    "--dry-run": V,
                    "--output": V,
                    "-o": V,
                },
                "one_of": [],
            },
            ("dependency", "build"): {"positionals": (1, 1), "flags": {"--skip-refresh": B}, "one_of": []},
            ("repo", "add"): {"positionals": (2, 2), "flags": {}, "one_of": []},
        },
    },
    "kubectl": {
        "global": {"--kubeconfig": V, "--context": V, "--namespace": V, "-n": V},
        "commands": {
            ("get",): {
                "positionals": (1, 2),
                "flags": {"--output": V, "-o": V, "--all-namespaces": B, "-A": B},
                "one_of": [],
            },
            ("config", "current-context"): {"positionals": (0, 0), "flags": {}, "one_of": []},
        },
    },
}
RECORDED_ENV = (
    "CLOUDSDK_CONFIG",
    "KUBECONFIG",
    "AZURE_CONFIG_DIR",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
)
HELM4_WAIT = {"watcher", "hookOnly", "legacy"}


class Refused(Exception):
    pass


def parse(tool: str, argv: list[str]) -> tuple[tuple[str, ...], list[str], dict[str, list[str]]]:
    """(command, positionals, flags) of a valid call; raises Refused otherwise."""
    spec = SPECS[tool]
    words: list[str] = []
    flags: dict[str, list[str]] = {}
    pending = list(argv)
    command: tuple[str, ...] | None = None
    allowed = dict(spec["global"])
    while pending:
        arg = pending.pop(0)
        if command is None and not arg.startswith("-"):
            words.append(arg)
            matches = [c for c in spec["commands"] if c and c[: len(words)] == tuple(words)]
            if not matches and len(words) == 1 and () in spec["commands"]:
                command = ()  # a tool without subcommands: this is its first positional
                continue
            if not matches:
                raise Refused(f"{' '.join(words)!r} is not a {tool} command")
            if tuple(words) in spec["commands"]:
                command = tuple(words)
                allowed.update(spec["commands"][command]["flags"])
                words = []
            continue
        if not arg.startswith("-") or arg == "-":
            words.append(arg)
            continue
        name, eq, value = arg.partition("=")
        kind = allowed.get(name)
        if kind is None:
            raise Refused(f"unknown flag {name}" + (f" for '{tool} {' '.join(command)}'" if command else ""))
        if kind == V:
            if not eq:
                if not pending or pending[0].startswith("-"):
                    raise Refused(f"{name} expects one argument")
                value = pending.pop(0)
            flags.setdefault(name, []).append(value)
        elif kind == "wait":
            major = int(os.environ["STUB_HELM_MAJOR"])
            if major == 3 and eq and value not in ("true", "false"):
                raise Refused(f'invalid argument "{value}" for "--wait" flag (helm 3: a boolean)')
            if major >= 4 and eq and value not in HELM4_WAIT:
                raise Refused(f'invalid argument "{value}" for "--wait" flag (helm 4: {sorted(HELM4_WAIT)})')
            flags.setdefault(name, []).append(value if eq else "")
        else:
            if eq:
                raise Refused(f"{name} takes no value")
            flags.setdefault(name, []).append("")
    if command is None:
        if () in spec["commands"]:
            command = ()
        else:
            raise Refused(f"'{tool} {' '.join(words)}' is not a complete command")
    rules = spec["commands"][command]
    low, high = rules["positionals"]
    if not low <= len(words) <= high:
        raise Refused(f"'{tool} {' '.join(command)}' takes {low}..{high} positional arguments, got {words}")
    for group in rules["one_of"]:
        given = [f for f in group if f in flags]
        if not given:
            raise Refused(f"'{tool} {' '.join(command)}' requires {' or '.join(group)}")
        if len(given) > 1 or (len(flags[given[0]]) > 1 and given[0] != "--values"):
            raise Refused(f"{' and '.join(given)} given together or more than once")
    for aliases, choices in rules.get("choices", {}).items():
        for alias in aliases:
            for value in flags.get(alias, []):
                if value not in choices:
                    raise Refused(f"{alias}: {value!r} is not one of {sorted(choices)}")
    return command, words, flags


def _one(flags: dict[str, list[str]], *names: str) -> str | None:
    return next((flags[n][-1] for n in names if n in flags), None)


def _home(*parts: str) -> Path:
    return Path(os.environ["HOME"]).joinpath(*parts)


def _write(path: Path, text: str) -> None:
    if not path.parent.is_dir():
        raise Refused(f"cannot write {path}: its folder does not exist")
    path.write_text(text)


def act(tool: str, command: tuple[str, ...], words: list[str], flags: dict[str, list[str]]) -> int:
    """What the real tool leaves behind (see the module docstring); returns the exit code."""
    kubeconfig_env = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None
    if (tool, command) == ("gcloud", ("auth", "activate-service-account")):
        key = json.loads(Path(_one(flags, "--key-file") or "").read_text())  # a real file (or pipe) of JSON
        store = Path(os.environ.get("CLOUDSDK_CONFIG") or _home(".config", "gcloud"))
        store.mkdir(parents=True, exist_ok=True)
        _write(store / "credentials.db", json.dumps({"stored": sorted(key)}))
    elif (tool, command) == ("gcloud", ("container", "clusters", "get-credentials")):
        _write(Path(kubeconfig_env or _home(".kube", "config")), f"# gke {words[0]}\n")
    elif (tool, command) == ("aws", ("eks", "update-kubeconfig")):
        _write(
            Path(_one(flags, "--kubeconfig") or kubeconfig_env or _home(".kube", "config")),
            f"# eks {_one(flags, '--name')}\n",
        )
    elif (tool, command) == ("az", ("login",)):
        store = Path(os.environ.get("AZURE_CONFIG_DIR") or _home(".azure"))
        store.mkdir(parents=True, exist_ok=True)
        _write(store / "msal_token_cache.json", "{}")
    elif (tool, command) == ("az", ("aks", "get-credentials")):
        _write(Path(_one(flags, "--file", "-f") or _home(".kube", "config")), f"# aks {_one(flags, '--name', '-n')}\n")
    elif (tool, command) == ("kubelogin", ("convert-kubeconfig",)):
        path = Path(_one(flags, "--kubeconfig") or kubeconfig_env or _home(".kube", "config"))
        if not path.is_file():
            raise Refused(f"kubeconfig {path} not found")
        path.write_text(path.read_text() + "# converted: azurecli\n")
    elif tool == "sops":
        real = os.environ["STUB_REAL_SOPS"]
        os.execv(real, [real, *sys.argv[1:]])
    elif tool == "helm" and command == ("upgrade",):
        if not (Path(words[1]) / "Chart.yaml").is_file():
            raise Refused(f"chart folder {words[1]} not found")
        for values in flags.get("--values", []) + flags.get("-f", []):
            Path(values).read_bytes()  # a missing file, or a <(...) that failed, raises here
        config = _one(flags, "--kubeconfig")
        if config is not None and not Path(config).is_file():
            raise Refused(f"kubeconfig {config} not found")
    elif tool == "helm" and command == ("dependency", "build") and not (Path(words[0]) / "Chart.yaml").is_file():
        raise Refused(f"chart folder {words[0]} not found")
    return 0


def main() -> int:
    tool = Path(sys.argv[0]).name
    argv = sys.argv[1:]
    entry: dict = {"tool": tool, "argv": argv, "env": {k: os.environ[k] for k in RECORDED_ENV if k in os.environ}}
    try:
        command, words, flags = parse(tool, argv)
        entry["command"] = list(command)
        with open(os.environ["STUB_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
        return act(tool, command, words, flags)
    except (Refused, OSError, ValueError) as exc:
        with open(os.environ["STUB_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps({**entry, "error": str(exc)}) + "\n")
        print(f"stub {tool}: {exc}", file=sys.stderr)
        return 2


def install_stubs(folder: Path, *, real_sops: str, helm_major: int) -> dict[str, str]:
    """Write the stubs into ``folder``; returns the variables a script's environment needs (PATH not included:
    put ``folder`` first on it)."""
    folder.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve().parent
    for tool in SPECS:
        path = folder / tool
        path.write_text(
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(here)!r})\n"
            "from clistubs import main\nsys.exit(main())\n"
        )
        path.chmod(0o755)
    return {"STUB_LOG": str(folder / "calls.jsonl"), "STUB_REAL_SOPS": real_sops, "STUB_HELM_MAJOR": str(helm_major)}


def calls(folder: Path) -> list[dict]:
    """The recorded calls, in order."""
    log = folder / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


if __name__ == "__main__":
    sys.exit(main())
