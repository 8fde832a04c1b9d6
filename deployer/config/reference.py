"""The README's cluster.yaml reference, generated from ``schemas/cluster.schema.json``.

``python -m deployer.config.reference`` prints it; ``--update README.md`` rewrites the part of the README
between the ``config-reference`` markers. A test keeps the README in sync.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from deployer.config.schema import JsonObject

START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def _resolve(schema: JsonObject, node: JsonObject) -> JsonObject:
    while "$ref" in node:
        ref = node["$ref"].split("/")[-1]
        merged = {**schema["$defs"][ref], **{k: v for k, v in node.items() if k != "$ref"}}
        node = merged
    return node


def _type(schema: JsonObject, node: JsonObject) -> str:
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    kind: str = node.get("type", "")
    if kind == "array" and "items" in node:
        item = _resolve(schema, node["items"]).get("type", "")
        return f"list of { {'object': 'mappings', 'string': 'strings'}.get(item, item) }"
    return {"object": "mapping"}.get(kind, kind)


def _rows(schema: JsonObject, node: JsonObject, prefix: str, required: set[str]) -> Iterator[tuple[str, str, str, str]]:
    for key, child in node.get("properties", {}).items():
        child = _resolve(schema, child)
        if set(child) <= {"not", "description"}:
            continue
        path = f"{prefix}{key}"
        items = _resolve(schema, child.get("items", {})) if child.get("type") == "array" else {}
        yield path, _type(schema, child), "yes" if key in required else "", child.get("description", "")
        if child.get("type") == "object":
            yield from _rows(schema, child, f"{path}.", set(child.get("required", [])))
        elif items.get("type") == "object":
            yield from _rows(schema, items, f"{path}[].", set(items.get("required", [])))


def reference_markdown(schema_path: Path) -> str:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    lines = ["| key | type | required | meaning |", "| --- | --- | --- | --- |"]
    for path, kind, req, desc in _rows(schema, schema, "", set(schema.get("required", []))):
        lines.append(f"| `{path}` | {kind} | {req} | {desc} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    schema = Path("schemas/cluster.schema.json")
    text = reference_markdown(schema)
    if argv[:1] == ["--update"]:
        readme = Path(argv[1] if len(argv) > 1 else "README.md")
        body = readme.read_text(encoding="utf-8")
        head, _, rest = body.partition(START)
        _, _, tail = rest.partition(END)
        readme.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
