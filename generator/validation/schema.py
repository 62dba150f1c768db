"""JSON Schema checks of each entity against the published pipegen schemas.

The schemas (``generator/schemas/*.schema.json``) are plain draft-07 so editors can use
them. This module turns jsonschema's errors into one-line messages and applies two
rules the schema language cannot express well:

* a property the schema does not know is a *warning* (Sesam accepts more than its
  reference documents), everything else is an error;
* a string holding ``$ENV(...)`` (or a system's ``$SECRET(...)``) may stand for any type,
  since the node substitutes it before it reads the value, so type/enum/range errors on
  such strings are dropped.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Iterator

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError
from jsonschema.validators import extend

from generator.validation.model import METADATA, PIPE, SYSTEM, Entity, Findings, ConfigFolder, did_you_mean

SCHEMA_FILES = {PIPE: "pipe.schema.json", SYSTEM: "system.schema.json", METADATA: "metadata.schema.json"}

# Validators whose complaint is about the value itself; a $ENV(...) string may satisfy them at runtime.
_VALUE_VALIDATORS = {"type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                     "pattern", "minLength", "maxLength", "format"}
_SENSITIVE = re.compile(r"(?i)pass|secret|token|jwt|api.?key|authorization|credential|pem")
_TRANSIT_DECIMAL = re.compile(r"~f[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\Z")
_TYPE_NAMES = {"object": "an object", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "a boolean", "null": "null"}


def load_schema(kind: str) -> dict[str, Any]:
    """One published schema as a dict."""
    text = resources.files("generator").joinpath(f"schemas/{SCHEMA_FILES[kind]}").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def validator(kind: str) -> Draft7Validator:
    schema = _with_switches(load_schema(kind))
    # DTL rules are checked by the DTL lint, with messages that know DTL; the schema's
    # shape check of them would only repeat those problems (and is half the schema time).
    if "dtl_rule" in schema.get("definitions", {}):
        schema["definitions"]["dtl_rule"] = {}
    return _FastValidator(_inline_refs(schema))


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every ``#/definitions/...`` reference replaced by the definition itself.

    Resolving references through jsonschema's registry on every descent costs a third of
    the validation time. The result may be cyclic (a conditional source holds sources),
    which is fine: validation only goes as deep as the instance. As in draft-07, the
    siblings of a ``$ref`` are ignored.
    """
    definitions = schema.get("definitions", {})
    done: dict[str, dict[str, Any]] = {}

    def resolve(node: Any) -> Any:
        if isinstance(node, list):
            return [resolve(v) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            name = ref[len("#/definitions/"):]
            if name not in done:
                done[name] = {}
                done[name].update(resolve(definitions[name]))
            return done[name]
        return {k: resolve(v) for k, v in node.items()}

    return resolve({k: v for k, v in schema.items() if k != "definitions"})


# The published schemas select a component's variant with one "if type is X then ..." per type,
# which jsonschema evaluates one by one for every source, sink and transform. For speed the
# validator reads such an allOf as a switch on the discriminating property: same meaning, one lookup.


def _switch(validator: Draft7Validator, spec: dict[str, Any], instance: Any, schema: dict[str, Any],
            ) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        return
    key = spec["property"]
    case = spec["cases"].get(instance[key]) if key in instance and _hashable(instance[key]) else spec.get("missing")
    if case is not None:
        yield from validator.descend(instance, case)


def _hashable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


# The exact classes JSON parsing yields, per type name: a value of such a class certainly has the
# type (jsonschema's own check, run otherwise, also accepts 1.0 as an integer and the like).
_PLAIN_TYPES = {"string": str, "object": dict, "array": list, "boolean": bool, "integer": int}
_plain_type = Draft7Validator.VALIDATORS["type"]


def _type(validator: Draft7Validator, types: Any, instance: Any, schema: dict[str, Any],
          ) -> Iterator[ValidationError]:
    if isinstance(types, str) and instance.__class__ is _PLAIN_TYPES.get(types):
        return
    yield from _plain_type(validator, types, instance, schema)


_FastValidator = extend(Draft7Validator, {"x-switch": _switch, "type": _type})
_plain_descend = _FastValidator.descend
# Subschema -> the validator for it, made once. Holding the subschema keeps its id from being reused.
_EVOLVED: dict[int, tuple[Any, Draft7Validator]] = {}


def _descend(self: Any, instance: Any, schema: Any, path: Any = None, schema_path: Any = None,
             resolver: Any = None) -> Iterator[ValidationError]:
    """jsonschema's ``descend`` without making a new validator for every value it descends into.

    That was a third of the schema check: one validator per subschema is made once and
    reused. The schemas are inlined (no ``$ref``, no ``$id``), so no subschema needs a
    resolver of its own; errors are completed exactly as jsonschema completes them.
    """
    if schema is True or schema is False or resolver is not None or self._ref_resolver is not None:
        yield from _plain_descend(self, instance, schema, path, schema_path, resolver)
        return
    known = _EVOLVED.get(id(schema))
    if known is None or known[0] is not schema:
        known = _EVOLVED[id(schema)] = (schema, self.evolve(schema=schema))
    evolved = known[1]
    for validator, k, v in evolved._validators:  # type: ignore[attr-defined]  # jsonschema's own, as descend reads it
        for error in validator(evolved, v, instance, schema) or ():
            error._set(validator=k, validator_value=v, instance=instance, schema=schema,
                       type_checker=evolved.TYPE_CHECKER)
            if k not in {"if", "$ref"}:
                error.schema_path.appendleft(k)
            if path is not None:
                error.path.appendleft(path)
            if schema_path is not None:
                error.schema_path.appendleft(schema_path)
            yield error


_FastValidator.descend = _descend


def _with_switches(node: Any) -> Any:
    """A copy of ``node`` in which every discriminating allOf of if/then is an x-switch."""
    if isinstance(node, list):
        return [_with_switches(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _with_switches(v) for k, v in node.items()}
    switch = _as_switch(out.get("allOf"))
    if switch is not None:
        del out["allOf"]
        out["x-switch"] = switch
    return out


def _as_switch(items: Any) -> dict[str, Any] | None:
    if not isinstance(items, list) or not items:
        return None
    cases: dict[Any, Any] = {}
    missing = None
    prop = None
    for item in items:
        if set(item) != {"if", "then"}:
            return None
        cond = item["if"]
        if set(cond) == {"not"} and set(cond["not"]) == {"required"} and len(cond["not"]["required"]) == 1:
            name, value = cond["not"]["required"][0], None
        elif set(cond) == {"properties", "required"} and len(cond["properties"]) == 1:
            name = cond["required"][0]
            test = cond["properties"].get(name, {})
            if set(test) != {"const"}:
                return None
            value = test["const"]
        else:
            return None
        if prop not in (None, name):
            return None
        prop = name
        if value is None and "not" in cond:
            missing = item["then"]
        else:
            cases[value] = item["then"]
    return {"property": prop, "cases": cases, "missing": missing}


def check(config: ConfigFolder, findings: Findings) -> None:
    for entity in config.entities:
        for error in validator(entity.kind).iter_errors(entity.config):
            _report(entity, error, findings)


def _report(entity: Entity, error: ValidationError, findings: Findings) -> None:
    path = entity.at(*error.absolute_path)
    # jsonschema types these for any draft (booleans, "unset"); here they are the failing value and its schema.
    instance: Any = error.instance
    schema: Any = error.schema
    if error.validator in _VALUE_VALIDATORS and _is_substituted(instance):
        return
    kind = error.validator
    if kind == "additionalProperties":
        known = _known_properties(schema)
        for name in sorted(set(instance) - known):
            if _pattern_match(schema, name):
                continue
            right = _spelt_right(name, known)
            if right:
                findings.warning(entity.file, path + (name,),
                                 f"the node ignores '{name}': the Sesam reference names this property '{right}'",
                                 key=True)
                continue
            findings.warning(entity.file, path + (name,),
                             f"unknown property '{name}' (not in the Sesam reference){did_you_mean(name, known)}",
                             key=True)
        return
    if kind == "required":
        required: Any = error.validator_value
        for name in required:
            if isinstance(instance, dict) and name not in instance and "$conditional_properties" not in instance:
                if name == "default" and path[-1:] == ("rules",):
                    findings.error(entity.file, path, "missing the 'default' rule (the entry point of a DTL transform)")
                else:
                    findings.error(entity.file, path, f"missing required property '{name}'")
        return
    if kind == "type" and _is_transit_number(instance, error.validator_value):
        findings.warning(entity.file, path, "a transit-encoded decimal where the reference documents a number: "
                                            "an older form it is silent about; write the number itself")
        return
    findings.error(entity.file, path, _message(error, sensitive=_is_sensitive(path)))


def _spelt_right(name: str, known: set[str]) -> str:
    """The documented property ``name`` misspells by case or by '-' for '_' (the node ignores
    such a key silently, e.g. ``set-initial-offset``), or ''."""
    folded = name.lower().replace("-", "_")
    return next((k for k in sorted(known) if k != name and k.lower().replace("-", "_") == folded), "")


def _is_transit_number(value: Any, expected: Any) -> bool:
    """``"~f0.1"``: a decimal in transit encoding (data-management/entity-data-model.rst) in a numeric setting."""
    wanted = {expected} if isinstance(expected, str) else set(expected)
    return bool(wanted & {"number", "integer"}) and isinstance(value, str) and _TRANSIT_DECIMAL.match(value) is not None


def _is_sensitive(path: tuple) -> bool:
    """Values under such keys may be credentials: never echo them in a message."""
    return any(isinstance(p, str) and _SENSITIVE.search(p) for p in path)


def _message(error: ValidationError, *, sensitive: bool = False) -> str:
    kind = error.validator
    instance: Any = error.instance
    expected: Any = error.validator_value
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    if custom:
        return custom
    if kind == "type":
        wanted = [expected] if isinstance(expected, str) else list(expected)
        return f"expected {' or '.join(_TYPE_NAMES.get(t, t) for t in wanted)}, got {_json_type(instance)}"
    if sensitive:
        return "invalid value (not shown: the property may hold a credential)"
    if kind == "enum":
        shown = ", ".join(json.dumps(v) for v in expected)
        hint = did_you_mean(instance, [v for v in expected if isinstance(v, str)]) if isinstance(instance, str) else ""
        if len(expected) > 10 and hint:
            return f"invalid value {json.dumps(instance)}{hint}"
        return f"invalid value {json.dumps(instance)}{hint}; expected one of: {shown}"
    if kind == "const":
        return f"expected {json.dumps(expected)}, got {json.dumps(instance)}"
    return error.message


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"  # the value itself is not echoed: it may be a credential in the wrong place
    return _TYPE_NAMES["object" if isinstance(value, dict) else "array"]


def _is_substituted(value: Any) -> bool:
    return isinstance(value, str) and ("$ENV(" in value or "$SECRET(" in value)


def _known_properties(schema: dict[str, Any]) -> set[str]:
    return set(schema.get("properties", {}))


def _pattern_match(schema: dict[str, Any], name: str) -> bool:
    return any(re.search(p, name) for p in schema.get("patternProperties", {}))
