"""The ``transform-collect-rest`` and ``transform-share-rest`` transform templates.

Their contract is published (``documentation/service-configuration/pipes/configuration-transforms-template.rst``,
``documentation/connectors/connector-contract.rst``); what they do inside is not. Every behaviour assumed
here is listed in docs/simulate.md ("REST templates") with the reading chosen: where the docs leave a
choice, the one that lets fewer configs pass (a simulator that is stricter than a node errs safely).

The share template writes one entity per source entity to its sink (the share dataset):

* ``_id``, ``$ids``, ``$origin`` (passed through, connector-contract.rst l.107), the primary key;
* ``$generated_id``: the primary key of the record it inserted, kept across later versions of that entity;
* ``$operation``: ``insert``, ``update``, ``delete``, ``none`` (nothing to change), ``modified-in-system``
  (optimistic locking refused the write, template doc l.211-215), ``not-found`` (the record is gone) or
  ``already-inserted``;
* ``$status`` (the HTTP status of the write) and ``$error`` for a status outside 200-299.
"""

from __future__ import annotations

from typing import Any

from generator.simulate.runner import PipeError, PipeRun, deep_merge, register_template, status_in
from generator.simulate.values import plain, same

ALL_STATUS_CODES = "100-599"  # the templates' default *_allowed_status_codes (template doc l.335-357)


def _keys(props: dict, name: str) -> list[str]:
    pk = props.get(name)
    if isinstance(pk, str):
        return [pk]
    if isinstance(pk, list) and pk and all(isinstance(k, str) for k in pk):
        return list(pk)
    raise PipeError(f"template: '{name}' must be a property name or a list of them")


def _key_value(entity: dict, keys: list[str]):
    """The primary key value: a scalar for one key, a list for a composite key; None when missing."""
    values = [entity.get(k) for k in keys]
    if any(v is None for v in values):
        return None
    return values[0] if len(values) == 1 else values


# --------------------------------------------------------------------------
# transform-collect-rest


@register_template("transform-collect-rest")
def collect_rest(run: PipeRun, spec: dict):
    props = spec.get("properties") or {}
    # Sesam's own connectors give only primary_key and share_dataset (all their uses), although the
    # doc marks rest_system and operation_lookup as required: both forms are accepted.
    keys = _keys(props, "primary_key")
    share = props.get("share_dataset")
    if not isinstance(share, str):
        raise PipeError("transform-collect-rest: 'share_dataset' is required")
    system = props.get("rest_system")
    lookup_op = props.get("operation_lookup_delete") or props.get("operation_lookup")
    if lookup_op and not system:
        raise PipeError("transform-collect-rest: a lookup operation needs 'rest_system'")
    verify_deletes = bool(props.get("operation_lookup_delete"))
    original = props.get("original_property")
    store = run.node.store

    def one(entity: dict) -> list[dict]:
        out = dict(entity)
        if lookup_op and (entity.get("_deleted") if verify_deletes else not entity.get("_deleted")):
            out = _collect_lookup(run, system, lookup_op, props, keys, entity, verify_deletes)
        if original:
            out[original] = entity
        key = _key_value(out, keys)
        if key is not None:
            # "hop-ing to the share sink dataset by joining the primary key with the $generated_id
            # property" (template doc l.57); deleted share rows are not indexed (dtl/joins.rst l.50).
            found = store.lookup(share, "$generated_id", [key])
            origins = [e["$origin"] for e in found if e.get("$origin") is not None]
            if origins:
                out["$origin"] = origins[0]
        return [out]
    return one


def _collect_lookup(run: PipeRun, system: str, op_name: str, props: dict, keys: list[str], entity: dict,
                    verify_deletes: bool) -> dict:
    node = run.node
    op = node.operation(system, op_name)
    extra = props.get("operation_lookup_delete_properties" if verify_deletes else "operation_lookup_properties")
    url = node.render(op["url"], {"entity": plain(entity), "properties": plain(extra or {})})
    status, body = node.request(system, op_name, op, url, report=run.report)
    if status == 404:
        # The record is not in the system: for a verified delete it stays deleted; a looked-up
        # entity that is gone is collected as deleted.
        return {**entity, "_deleted": True}
    if not 200 <= status < 300 or not isinstance(body, dict):
        raise PipeError(f"{op_name}: HTTP {status}")
    # "If the entity does exist, then the _deleted property will be rewritten to be false" (l.131)
    out = {**body, "_id": entity["_id"]}
    if verify_deletes:
        out["_deleted"] = False
    else:
        out.pop("_deleted", None)
    return out


# --------------------------------------------------------------------------
# transform-share-rest


@register_template("transform-share-rest")
def share_rest(run: PipeRun, spec: dict):
    props = spec.get("properties") or {}
    system = props.get("rest_system")
    share = props.get("share_dataset")
    if not isinstance(system, str) or not isinstance(share, str):
        raise PipeError("transform-share-rest: 'rest_system' and 'share_dataset' are required")
    share_op = _ShareOperations(run, props, system, share)
    return share_op.one


class _ShareOperations:
    """One share pipe's CRUD against one REST system."""

    def __init__(self, run: PipeRun, props: dict, system: str, share: str):
        self.run, self.node, self.props = run, run.node, props
        self.system, self.share = system, share
        self.keys = _keys(props, "primary_key")
        self.insert_keys = _keys(props, "primary_key_insert") if props.get("primary_key_insert") else self.keys
        self.natural = bool(props.get("is_natural_key", False))
        self.payload_property = props.get("payload_property")
        self.ops = {kind: props.get(f"operation_{kind}", kind) for kind in ("lookup", "insert", "update", "delete")}

    # ---- per entity

    def one(self, entity: dict) -> list[dict]:
        # The template reads its sink as a hop would: deleted rows are not indexed (dtl/joins.rst l.50).
        found = self.node.store.lookup(self.share, "_id", [entity.get("_id")])
        previous = found[0] if found else None
        out = {k: v for k, v in entity.items() if k in ("_id", "$ids", "$origin", "$replaced", "_deleted")}
        for k in self.keys:
            if k in entity:
                out[k] = entity[k]
        generated = previous.get("$generated_id") if previous else None
        if generated is not None:
            out["$generated_id"] = generated
        if entity.get("_deleted"):
            self._delete(entity, previous, out)
        else:
            key = _key_value(entity, self.keys)
            if key is None and not self.natural:
                self._insert(entity, generated, out)
            else:
                self._update(entity, key, out)
        return [out]

    def _delete(self, entity: dict, previous: dict | None, out: dict) -> None:
        if entity.get("$replaced"):
            # "not a real delete, but rather the entity got a new _id" (connector-contract.rst l.103)
            out["$operation"] = "none"
            return
        # The record to delete: the entity's own key, else the one this share pipe wrote or inserted
        # for the same _id (the contract's delete example carries nothing but _id, l.165-170).
        key = _key_value(entity, self.keys)
        if key is None and previous is not None:
            key = _key_value(previous, self.keys)
            if key is None:
                key = previous.get("$generated_id")
        if key is None:
            out["$operation"] = "none"
            return
        current = self._lookup(entity, key, out)
        if current is None:
            return
        if "$based_on" in entity and not self._unchanged(entity, current):
            out["$operation"] = "modified-in-system"
            return
        self._write("delete", entity, key, None, out)

    def _insert(self, entity: dict, generated, out: dict) -> None:
        if generated is not None:
            # This _id was inserted before: the collect pipe links the new record through $origin;
            # inserting again would duplicate it.
            out["$operation"] = "already-inserted"
            return
        if entity.get("$origin") is None:
            # "It is an error if the operation is an insert and the property is missing" (l.107)
            raise PipeError(f"transform-share-rest: insert of {entity.get('_id')!r} without $origin")
        if "$based_on" in entity or "$based_on_properties" in entity:
            raise PipeError(f"transform-share-rest: insert of {entity.get('_id')!r} carries $based_on "
                            "(connector-contract.rst l.96: disallowed for insert)")
        body = self._write("insert", entity, None, self._payload(entity), out)
        if out.get("$error") is None:
            new_key = _key_value(body, self.insert_keys) if isinstance(body, dict) else None
            if new_key is None:
                raise PipeError(f"{self.ops['insert']}: the response has no {'/'.join(self.insert_keys)}")
            out["$generated_id"] = new_key

    def _update(self, entity: dict, key, out: dict) -> None:
        current = self._lookup(entity, key, out)
        if current is None:
            if self.natural and out.get("$operation") == "not-found":
                out.pop("$operation")
                self._write("insert", entity, key, self._payload(entity), out)
            return
        if "$based_on" not in entity:
            raise PipeError(f"transform-share-rest: update of {entity.get('_id')!r} without $based_on "
                            "(connector-contract.rst l.95: required for updates)")
        if not self._unchanged(entity, current) and entity.get("$unsafe_skip_optimistic_locking") is not True:
            out["$operation"] = "modified-in-system"
            return
        payload = self._payload(entity)
        if _covers(current, payload):
            out["$operation"] = "none"  # nothing to change ("avoiding unneccesary updates", l.95)
            return
        if self.props.get("client_side_patching"):
            payload = deep_merge(current, payload)
        self._write("update", entity, key, payload, out)

    # ---- helpers

    def _lookup(self, entity: dict, key, out: dict) -> dict | None:
        """The record as the system has it now; None (with $operation set) when there is none."""
        kind = "lookup"
        status, body = self._call(kind, entity, key, None)
        out["$status"] = status
        if status == 404:
            out["$operation"] = "not-found"
            return None
        if not 200 <= status < 300 or not isinstance(body, dict):
            out["$operation"] = "none"
            out["$error"] = f"{self.ops[kind]}: HTTP {status}"
            return None
        return body

    def _write(self, kind: str, entity: dict, key, payload, out: dict) -> Any:
        status, body = self._call(kind, entity, key, payload)
        out["$operation"] = kind
        out["$status"] = status
        if not 200 <= status < 300:
            out["$error"] = f"{self.ops[kind]}: HTTP {status}"
        elif kind == "delete":
            out["_deleted"] = True
        return body

    def _call(self, kind: str, entity: dict, key, payload) -> tuple[int, Any]:
        node, op_name = self.node, self.ops[kind]
        op = node.operation(self.system, op_name)
        target = dict(entity)
        if key is not None:
            for k, v in zip(self.keys, key if len(self.keys) > 1 else [key]):
                target[k] = v
        url = node.render(op["url"], {"entity": plain(target),
                                      "properties": plain(self.props.get(f"operation_{kind}_properties") or {})})
        status, body = node.request(self.system, op_name, op, url, payload=payload, report=self.run.report)
        allowed = self.props.get(f"{kind}_allowed_status_codes", ALL_STATUS_CODES)
        if not status_in(status, allowed):
            # "Restricting the status codes will make the pipe fail for the excluded status codes"
            raise PipeError(f"{op_name}: HTTP {status}")
        return status, body

    def _payload(self, entity: dict) -> dict:
        if self.payload_property:
            return entity.get(self.payload_property)
        if "$payload" in entity:
            return entity["$payload"]  # template doc l.403
        # The desired state: the entity's own properties (connector-contract.rst l.71).
        return {k: v for k, v in entity.items() if not k.startswith(("_", "$"))}

    @staticmethod
    def _unchanged(entity: dict, current: dict) -> bool:
        """Optimistic locking: the system still has the values the entity was based on
        (``$based_on`` over ``$based_on_properties``, connector-contract.rst l.93-100)."""
        based_on = entity.get("$based_on")
        if not isinstance(based_on, dict):
            return False
        names = entity.get("$based_on_properties")
        if not isinstance(names, list):
            names = list(based_on)
        for name in names:
            parts = str(name).split(".")
            if not same(_get(based_on, parts), _get(current, parts)):
                return False
        return True


def _get(value, parts: list[str]):
    for part in parts:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _covers(current: dict, payload) -> bool:
    """Every value of the payload is already the system's."""
    if not isinstance(payload, dict):
        return False
    for k, v in payload.items():
        have = current.get(k)
        if isinstance(v, dict) and isinstance(have, dict):
            if not _covers(have, v):
                return False
        elif not same(plain(v), have):
            return False
    return True

