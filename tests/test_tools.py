"""Where the deployer finds helm, kubectl and sops: DEPLOYER_<TOOL>, else PATH, else the project's .tools/bin."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.errors import ToolMissingError, UsageError
from deployer.tools import find_tool, override_variable


def executable(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_the_variable_then_path_then_the_projects_tools(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    pinned = executable(root / ".tools" / "bin", "helm")
    on_path = executable(tmp_path / "path", "helm")
    chosen = executable(tmp_path / "chosen", "helm3")
    assert find_tool("helm", root, {"PATH": str(tmp_path / "empty")}) == str(pinned)
    assert find_tool("helm", root, {"PATH": str(on_path.parent)}) == str(on_path)
    assert find_tool("helm", root, {"PATH": str(on_path.parent), "DEPLOYER_HELM": str(chosen)}) == str(chosen)


def test_a_chosen_path_that_is_not_an_executable_is_bad_input_not_a_fallback(tmp_path: Path) -> None:
    on_path = executable(tmp_path / "path", "helm")
    for wrong in (tmp_path / "nope", tmp_path):
        with pytest.raises(UsageError, match=r"DEPLOYER_HELM=.*: no executable file there") as caught:
            find_tool("helm", None, {"PATH": str(on_path.parent), "DEPLOYER_HELM": str(wrong)})
        assert caught.value.exit_code == 2


def test_a_tool_found_nowhere_says_how_to_get_it(tmp_path: Path, monkeypatch) -> None:
    import deployer.tools as tools

    monkeypatch.setattr(tools, "_OWN_CHECKOUT", tmp_path / "no-checkout")
    with pytest.raises(ToolMissingError, match=r"sops: not found on PATH.*DEPLOYER_SOPS"):
        find_tool("sops", tmp_path, {"PATH": str(tmp_path)})


def test_override_variables() -> None:
    assert override_variable("helm") == "DEPLOYER_HELM"
    assert override_variable("configurable-http-proxy") == "DEPLOYER_CONFIGURABLE_HTTP_PROXY"
