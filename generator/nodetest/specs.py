"""sesam-py's test specs (``expected/*.test.json``) and their loading checks.

Defaults and property semantics follow sesam-py's ``TestSpec``: the name is the spec file
without ``.test.json``; ``file`` defaults to ``<name>.json`` and ``pipe`` to the name;
``endpoint`` defaults to ``json``; ``ignore`` and ``ignore_deletes`` count only when they are
``true`` (``ignore_deletes`` defaults to true); ``fields_to_sort_by`` defaults to ``["_id"]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

EXPECTED = "expected"


@dataclass(frozen=True)
class TestSpec:
    __test__ = False  # not a pytest class

    spec_file: str  # "expected/<name>.test.json", as sesam-py prints it
    raw: dict

    @property
    def name(self) -> str:
        return self.raw["name"]

    @property
    def pipe(self) -> str:
        return str(self.raw.get("pipe"))  # load_specs fills the default, the spec's name

    @property
    def file(self) -> str:
        name = str(self.raw.get("file"))
        return name if name.startswith(EXPECTED + "/") else f"{EXPECTED}/{name}"

    @property
    def endpoint(self) -> str:
        return str(self.raw.get("endpoint"))  # load_specs fills the default, "json"

    @property
    def stage(self) -> str | None:
        return self.raw.get("stage")

    @property
    def ignore(self) -> bool:
        return self.raw.get("ignore", False) is True

    @property
    def ignore_deletes(self) -> bool:
        return self.raw.get("ignore_deletes", True) is True

    @property
    def parameters(self) -> Any:
        return self.raw.get("parameters")

    @property
    def sort_fields(self) -> list:
        return self.raw.get("fields_to_sort_by", ["_id"])

    def is_path_blacklisted(self, path: list[str]) -> bool:
        blacklist = self.raw.get("blacklist")
        if blacklist and isinstance(blacklist, list):
            prop_path = ".".join(path).replace("\\.", ".")
            # sesam-py: "[]." in a pattern stands for any list position
            return any(fnmatch(prop_path, str(p).replace("[].", ".*.")) for p in blacklist)
        return False

    def sort_key(self, entity: Any) -> list:
        """sesam-py's entity sorter: the ``fields_to_sort_by`` values, then the entity's JSON."""
        key: list = []
        for name in self.sort_fields:
            value = entity.get(name) if isinstance(entity, dict) else None
            if type(value) is dict:
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            key.append(value)
        key.append(json.dumps(entity, ensure_ascii=False, sort_keys=True))
        return key


@dataclass(frozen=True)
class SpecLoad:
    specs: dict[str, list[TestSpec]]  # pipe -> specs, in file order
    errors: list[str]
    warnings: list[str]

    @property
    def failed(self) -> bool:
        return bool(self.errors)


def read_spec(root: Path, path: Path) -> TestSpec:
    rel = path.relative_to(root).as_posix()
    name = rel[: -len(".test.json")]
    raw: dict[str, Any] = {"name": name, "file": name + ".json", "endpoint": "json",
                           "pipe": name.split("/")[-1]}
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    if not isinstance(data, dict):
        raise ValueError(f"Test spec '{rel}' not in correct json format")
    raw.update(data)
    return TestSpec(rel, raw)


def load_specs(root: Path, output_pipes: set[str], *, update: bool = False) -> SpecLoad:
    """sesam-py's ``load_test_specs``, with its messages. In update mode nothing is deleted."""
    specs: dict[str, list[TestSpec]] = {}
    errors: list[str] = []
    warnings: list[str] = []
    for path in sorted((root / EXPECTED).glob("*.test.json")):
        try:
            spec = read_spec(root, path)
        except (ValueError, UnicodeDecodeError) as err:
            errors.append(str(err) if "correct json format" in str(err)
                          else f"Test spec '{path.relative_to(root).as_posix()}' is not valid JSON: {err}")
            continue
        if spec.pipe not in output_pipes:
            if not update:
                errors.append(f"Test spec '{spec.spec_file}' references a non-exisiting output pipe "
                              f"'{spec.pipe}' - please remove '{spec.spec_file}'")
            else:
                warnings.append(f"Test spec '{spec.spec_file}' references a non-exisiting output pipe "
                                f"'{spec.pipe}' - left in place; remove '{spec.spec_file}'")
        if not spec.ignore and not (root / spec.file).is_file():
            message = (f"Test spec '{spec.spec_file}' references non-exisiting 'expected' output file "
                       f"'{spec.file}'")
            if update:
                warnings.append(message + " - it will be created")
            else:
                errors.append(message)
        if not errors and spec.ignore and (root / spec.file).is_file():
            # sesam-py names the spec file here, not the output file
            warnings.append(f"pipe '{spec.pipe}' is ignored, but output file '{spec.spec_file}' still exists")
        specs.setdefault(spec.pipe, []).append(spec)
    if errors:
        errors.append("Test specs verify failed, correct errors and retry")
    return SpecLoad(specs, errors, warnings)
