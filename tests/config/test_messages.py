"""Messages that lead somewhere (issue 15): each names the file (and line) and says what to do, in one line.

Through the real CLI, with the real sops and age keys: no key for many secret files is said once; a secret file
not named ``enc-*`` gets the exact rename and the ``sops encrypt`` command that ``.sops.yaml`` accepts; a secret
file edited by hand after encryption gets one explanation, whichever way the edit broke it; a YAML syntax error
keeps the parser's line and column and adds the usual cause."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from deployer.tools import find_tool
from helpers import DEMO_KEY, PROJECT

C1 = "config/clusters/c1"

NO_KEY_HELP = (
    "no key for them is available here; for age keys set SOPS_AGE_KEY_FILE to a file holding the private key of "
    "one of their recipients (for KMS, log in to that cloud); 'deployer validate --no-decrypt' checks everything "
    "else without keys"
)


def problems(result) -> list[str]:
    """The problem lines of a run's stderr and its summary (warnings other checks add are left out)."""
    return [line for line in result.err.splitlines() if not line.startswith("warning:")]


def list_for_h2(root: Path, name: str) -> None:
    """List ``name`` among hub h2's values files in cluster.yaml."""
    cluster = root / C1 / "cluster.yaml"
    text = cluster.read_text()
    cluster.write_text(text.replace("      - h2.values.yaml\n", f"      - h2.values.yaml\n      - {name}\n"))


def no_key_env(tmp_path: Path, demo_key_env: dict[str, str]) -> dict[str, str]:
    """The test environment without any key: no SOPS_AGE_KEY_FILE, and a HOME holding no sops keys."""
    return {**{k: v for k, v in demo_key_env.items() if k != "SOPS_AGE_KEY_FILE"}, "HOME": str(tmp_path)}


# --- 1. no key: said once -------------------------------------------------------------------------------------


def test_without_a_key_validate_says_it_once_for_the_nine_secret_files(cli, demo_key_env, tmp_path):
    result = cli("--repo", str(PROJECT), "validate", env=no_key_env(tmp_path, demo_key_env))
    secret_files = sorted(
        p.relative_to(PROJECT).as_posix() for p in PROJECT.glob("config/clusters/*/enc-*.values.yaml")
    )
    assert len(secret_files) == 9
    first, *others = secret_files
    assert result.code == 2 and result.out == "", result.output
    assert problems(result) == [
        f"{first}: cannot decrypt this file and 8 more ({', '.join(others[:4])} and 4 more): {NO_KEY_HELP}",
        "1 problem(s) found.",
    ]


def test_template_says_it_once_too(cli, mini_repo, _encrypted_h1, demo_key_env, tmp_path):
    # a second secret file for h1 (sops does not bind a file to its name: a copy decrypts with the same key)
    (mini_repo / C1 / "enc-h1b.secret.values.yaml").write_bytes(_encrypted_h1)
    cluster = mini_repo / C1 / "cluster.yaml"
    cluster.write_text(
        cluster.read_text().replace(
            "      - enc-h1.secret.values.yaml\n",
            "      - enc-h1.secret.values.yaml\n      - enc-h1b.secret.values.yaml\n",
        )
    )
    result = cli("--repo", str(mini_repo), "template", "c1", "h1", env=no_key_env(tmp_path, demo_key_env))
    assert result.code == 2 and result.out == "", result.output
    assert problems(result) == [
        f"{C1}/enc-h1.secret.values.yaml: cannot decrypt this file and 1 more ({C1}/enc-h1b.secret.values.yaml): "
        f"{NO_KEY_HELP}",
        "1 problem(s) found.",
    ]


# --- 2. a secret file not named enc-*: the exact rename, then the encryption .sops.yaml accepts ---------------

PLAIN_SECRET = f"{C1}/h2.secret.values.yaml"
RENAMED = f"{C1}/enc-h2.secret.values.yaml"
RENAME = f"rename it to enc-h2.secret.values.yaml ('git mv {PLAIN_SECRET} {RENAMED}') and update cluster.yaml"


def test_a_secret_file_not_named_enc_is_renamed_then_encrypted_as_said(cli, mini_repo, demo_key_env):
    shutil.copy(PROJECT / ".sops.yaml", mini_repo / ".sops.yaml")
    (mini_repo / PLAIN_SECRET).write_text("jupyterhub: {}\n")
    list_for_h2(mini_repo, "h2.secret.values.yaml")
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert result.code == 2, result.output
    assert problems(result) == [
        f"{PLAIN_SECRET}: is not encrypted, but its name says it holds secrets: {RENAME}, then encrypt it with "
        f"'sops encrypt --in-place {RENAMED}' before committing",
        "1 problem(s) found.",
    ]
    # the advice works: that rename, then that command (from the repository root, with the real sops)
    (mini_repo / PLAIN_SECRET).rename(mini_repo / RENAMED)
    cluster = mini_repo / C1 / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace("- h2.secret.values.yaml", "- enc-h2.secret.values.yaml"))
    argv = ["sops", "encrypt", "--in-place", RENAMED]
    done = subprocess.run([find_tool("sops"), *argv[1:]], cwd=mini_repo, env=demo_key_env, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert cli("--repo", str(mini_repo), "validate", env=demo_key_env).code == 0


@pytest.mark.parametrize(
    "sops_config, words",
    [
        (None, "there is no .sops.yaml at the repository root: add one whose creation_rules name the recipients"),
        (
            "creation_rules:\n  - path_regex: secrets/.*\n    age: age1x\n",
            f"no creation rule (path_regex) of .sops.yaml matches {RENAMED}: add one naming the recipients",
        ),
    ],
    ids=["no-sops-yaml", "no-matching-rule"],
)
def test_the_encryption_advice_is_checked_against_sops_yaml(cli, mini_repo, demo_key_env, sops_config, words):
    if sops_config is not None:
        (mini_repo / ".sops.yaml").write_text(sops_config)
    (mini_repo / PLAIN_SECRET).write_text("jupyterhub: {}\n")
    list_for_h2(mini_repo, "h2.secret.values.yaml")
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert result.code == 2, result.output
    assert problems(result) == [
        f"{PLAIN_SECRET}: is not encrypted, but its name says it holds secrets: {RENAME}, then encrypt it; but "
        f"{words}, then run 'sops encrypt --in-place {RENAMED}'",
        "1 problem(s) found.",
    ]


def test_an_encrypted_file_not_named_enc_gets_the_exact_rename(cli, mini_repo, _encrypted_h1, demo_key_env):
    (mini_repo / PLAIN_SECRET).write_bytes(_encrypted_h1)
    list_for_h2(mini_repo, "h2.secret.values.yaml")
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert result.code == 2, result.output
    assert problems(result) == [
        f"{PLAIN_SECRET}: is sops-encrypted but not named enc-*: {RENAME}",
        "1 problem(s) found.",
    ]


# --- 3. a secret file edited by hand after encryption ----------------------------------------------------------

ENC = f"{C1}/enc-h1.secret.values.yaml"


def _flip(pattern: str) -> object:
    """An edit changing the first character matched by ``pattern``'s group 1 (inside base64: stays base64)."""

    def apply(text: str) -> str:
        match = re.search(pattern, text, re.MULTILINE)
        assert match, pattern
        old = match.group(1)
        return text[: match.start(1)] + ("B" if old != "B" else "C") + text[match.end(1) :]

    return apply


HAND_EDITS = {
    "value-edited-inside-ENC": _flip(r"password: ENC\[AES256_GCM,data:(.)"),
    "key-renamed": lambda text: text.replace("password:", "passwd:", 1),
    "value-left-in-clear": lambda text: re.sub(r"password: ENC\[[^\]]*\]", "password: new-password", text),
    "entry-added-in-clear": lambda text: text.replace("jupyterhub:\n", "jupyterhub:\n    extra: 1\n", 1),
    "mac-line-edited": _flip(r"^\s+mac: ENC\[AES256_GCM,data:(.)"),
    "mac-line-removed": lambda text: re.sub(r"^\s+mac: .*\n", "", text, flags=re.MULTILINE),
    "metadata-lastmodified-edited": lambda text: re.sub(
        r"lastmodified: .*", 'lastmodified: "2020-01-01T00:00:00Z"', text
    ),
    # the age block's first character: its header no longer parses
    "metadata-key-stanza-edited": _flip(r"BEGIN AGE ENCRYPTED FILE-----\n\s+(.)"),
    # deeper inside the wrapped key: sops reads it as a key that is not ours; the key file holds the recipient's
    # key, so the deployer knows the block is damaged
    "metadata-wrapped-key-edited": _flip(r"BEGIN AGE ENCRYPTED FILE-----\n\s+(?:\S+\n\s+){2}\S{10}(.)"),
}


@pytest.mark.parametrize("edit", HAND_EDITS.values(), ids=HAND_EDITS.keys())
def test_a_hand_edited_secret_file_gets_one_explanation(cli, mini_repo, demo_key_env, edit):
    path = mini_repo / ENC
    before = path.read_text()
    path.write_text(edit(before))
    assert path.read_text() != before
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert result.code == 2, result.output
    assert problems(result) == [
        f"{ENC}: cannot decrypt: the file was edited after it was encrypted (sops's integrity check fails): restore "
        f"its last good version ('git log -- {ENC}' lists them, 'git checkout <rev> -- {ENC}' takes one) and make "
        f"the change with 'sops edit {ENC}'",
        "1 problem(s) found.",
    ]


# --- 4. YAML syntax errors: the parser's line and column, and the usual cause ---------------------------------

SV = f"{C1}/h2.values.yaml"

YAML_ERRORS = {
    "tab": (
        "identity:\n\tdisplayName: Hub two\n",
        "2: invalid YAML (column 1): found character that cannot start any token: YAML does not allow tabs: "
        "indent with spaces",
    ),
    "unquoted-colon": (
        "identity:\n  displayName: see: here\n",
        "2: invalid YAML (column 19): mapping values are not allowed in this context: an unquoted ':' in a value, "
        "or wrong indentation: quote the value or align the key",
    ),
    "unclosed-quote": (
        'identity:\n  displayName: "Hub two\nnetworkPolicy: {}\n',
        "4: invalid YAML (column 1): found unexpected end of stream: a quote opened on line 2 is not closed: close it",
    ),
    "unclosed-bracket": (
        "identity:\n  cluster: [c1\nnetworkPolicy: {}\n",
        "3: invalid YAML (column 14): did not find expected ',' or ']': a '[' opened on line 2 is not closed: close "
        "it, or quote a value that starts with '['",
    ),
    "key-out-of-line": (
        "identity:\n  displayName: Hub two\n cluster: c1\n",
        "3: invalid YAML (column 2): did not find expected key: wrong indentation: align the key with the others at "
        "its level (a list item starts with '- ')",
    ),
}


@pytest.mark.parametrize("text, message", YAML_ERRORS.values(), ids=YAML_ERRORS.keys())
def test_a_yaml_syntax_error_has_its_hint_next_to_file_and_line(cli, mini_repo, demo_key_env, text, message):
    (mini_repo / SV).write_text(text)
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert result.code == 2 and "Traceback" not in result.output, result.output
    assert problems(result) == [f"{SV}:{message}", "1 problem(s) found."]


def test_demo_key_is_the_sops_yaml_recipient():
    """The rename-then-encrypt test relies on the repository's .sops.yaml encrypting to the demo key."""
    public = next(line.split(": ", 1)[1] for line in DEMO_KEY.read_text().splitlines() if "public key" in line)
    assert public in (PROJECT / ".sops.yaml").read_text()


def test_another_persons_key_is_still_a_missing_key(cli, mini_repo, demo_key_env, tmp_path):
    """Only a key file holding the key of one of the file's recipients turns sops's "no key" into "edited": with
    someone else's key, the file is not for us."""
    import pyrage

    other = pyrage.x25519.Identity.generate()
    key_file = tmp_path / "other.txt"
    key_file.write_text(f"# public key: {other.to_public()}\n{other}\n")
    result = cli("--repo", str(mini_repo), "validate", env={**demo_key_env, "SOPS_AGE_KEY_FILE": str(key_file)})
    assert result.code == 2, result.output
    assert "cannot decrypt: no key for this file is available here" in result.err
    assert "edited" not in result.err


def test_recipient_key_held():
    from deployer.secrets import recipient_key_held

    encrypted = "sops:\n  age:\n    - recipient: age1abcdefghijklmnopqrstuvwxyz0123456789\n      enc: |\n"
    assert recipient_key_held(encrypted, "# public key: age1abcdefghijklmnopqrstuvwxyz0123456789\nAGE-SECRET-KEY-1X\n")
    assert not recipient_key_held(
        encrypted, "# public key: age1zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\nAGE-SECRET-KEY-1X\n"
    )
    assert not recipient_key_held(encrypted, "AGE-SECRET-KEY-1X\n")  # no public key line: not known
    json_file = '{"sops": {"age": [{"recipient": "age1abcdefghijklmnopqrstuvwxyz0123456789", "enc": "x"}]}}'
    assert recipient_key_held(json_file, "# public key: age1abcdefghijklmnopqrstuvwxyz0123456789\n")
