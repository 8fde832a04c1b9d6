"""deployer.shellwords: the words of printed scripts, and the only builder of printed sops command lines."""

from __future__ import annotations

import ast
import re

import pytest

from deployer.shellwords import Raw, sops_check, sops_decrypt, sops_extract, sops_to_file
from helpers import PROJECT

DECRYPT_COMMAND = re.compile(r"sops (--decrypt|-d|decrypt)\b")


@pytest.mark.parametrize(
    ("word", "printed"),
    [
        (sops_decrypt("values/enc-a b.yaml"), "<(sops --decrypt 'values/enc-a b.yaml')"),
        (sops_check("values/enc-a.yaml"), "sops --decrypt values/enc-a.yaml > /dev/null"),
        (sops_to_file("enc-kc.yaml", Raw('"$dir/kubeconfig"')), 'sops --decrypt enc-kc.yaml > "$dir/kubeconfig"'),
        (sops_to_file("enc-kc.yaml", "out file"), "sops --decrypt enc-kc.yaml > 'out file'"),
        (sops_extract("enc-k.yaml", "id"), """"$(sops --decrypt --extract '["id"]' enc-k.yaml)\""""),
        (
            sops_extract("enc-k.yaml", "t", quiet=True),
            """"$(sops --decrypt --extract '["t"]' enc-k.yaml 2>/dev/null)\"""",
        ),
    ],
)
def test_sops_words(word: str, printed: str) -> None:
    assert word == printed


def sops_command_literals(tree: ast.AST) -> list[int]:
    """Lines of string literals that start a sops command: "sops" as an argv element, or "sops --decrypt ..." text."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple)):
            found += [e.lineno for e in node.elts if isinstance(e, ast.Constant) and e.value == "sops"]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and DECRYPT_COMMAND.match(node.value):
            found.append(node.lineno)
    return found


def test_no_other_module_builds_a_sops_command_line() -> None:
    elsewhere = {
        f"{path.relative_to(PROJECT)}:{line}"
        for path in sorted((PROJECT / "deployer").rglob("*.py"))
        if path.name != "shellwords.py"
        for line in sops_command_literals(ast.parse(path.read_text()))
    }
    assert elsewhere == set()
