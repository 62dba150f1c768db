"""Mutation suite: each kind of edit to generated pipes is found, with exactly the expected findings.

The config is generated at test time from the specs, then edited the way a
person would (structurally located, see ``qa_support``). Every finding must
name the expected kind, flow(s), property row and pipe; where the finding sits
in the edited pipe, its JSON path must lead to (or contain) what was changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from dataclasses import dataclass
from typing import Callable

import pytest

from tests.support.qa_support import (
    DEFAULT, EXAMPLE, ROOT, Changed, Config, adds, delete, generate, get, loc, mutated, nodes, pipe,
    producing_sets, refs, rename_pipe, rules_of, run,
)

EMP = "erp.employee -> crm.contact"
CUST_CONTACT = "erp.customer -> crm.contact (human data)"
ORG = "erp.customer -> crm.company (organisation data)"
COMP_DEPT = "crm.company -> erp.department"
CONTACT_EMP = "crm.contact -> erp.employee"
DEPT_COMP = "erp.department -> crm.company"
CONTACT_FLOWS = (EMP, CUST_CONTACT, CONTACT_EMP)
ALL_FLOWS = (EMP, CUST_CONTACT, ORG, COMP_DEPT, CONTACT_EMP, DEPT_COMP)
ORG_FLOWS = (CUST_CONTACT, ORG, COMP_DEPT, DEPT_COMP)  # the flows global-organisation links


@pytest.fixture(scope="module")
def example() -> Config:
    return generate(EXAMPLE)


@pytest.fixture(scope="module")
def bare_default(tmp_path_factory) -> Path:
    """The default spec as its documents state it: no `source: spec` rows, so its flows only link."""
    from generator.spec.loader import load_spec_file
    from generator.talkdoc import spec_yaml

    path = tmp_path_factory.mktemp("bare") / "customerp-crmoffice.yaml"
    path.write_text(spec_yaml(load_spec_file(DEFAULT).without_additions()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def default(bare_default: Path) -> Config:
    return generate(bare_default)


# --------------------------------------------------------------------------- edits


def each_add(pipe_id: str, prop: str, edit_one: Callable[[dict, tuple], list[tuple]]):
    """Apply ``edit_one(pipe, add_path) -> changed paths`` to every ``add`` of ``prop``
    (the update and the insert rule alike, as a careful hand edit would); in a global
    pipe, to the golden property ``prop`` of its default rules."""
    def edit(files: Config) -> Changed:
        p = pipe(files, pipe_id)
        sets = ["default"] if pipe_id.startswith("global-") else None
        return [loc(p, path) for add in adds(p, prop, sets) for path in edit_one(p, add)]
    return edit


def _deleted(p: dict, path: tuple) -> list[tuple]:
    delete(p, path)
    return [path]


drop_property = each_add("crm-contact-transform", "first_name", _deleted)
drop_backward = each_add("erp-employee-transform", "firstName", _deleted)


def nested_rule(pipe_id: str, rule_set: str, edit_one: Callable[[dict, tuple], list[tuple]]):
    """Edit the rule set that builds a nested property (``golden-address``: one add-if per leaf)."""
    def edit(files: Config) -> Changed:
        p = pipe(files, pipe_id)
        rules, base = rules_of(p)
        return [loc(p, path) for path in edit_one(p, base + (rule_set,))]
    return edit


def _leaf(p: dict, rule_set: tuple, name: str) -> tuple:
    return next(rule_set + (i,) for i, rule in enumerate(get(p, rule_set)) if rule[1:2] == [name])


def _drop_zip(p: dict, rule_set: tuple) -> list[tuple]:
    path = _leaf(p, rule_set, "zip")
    delete(p, path)
    return [path]


def _rename_target(p: dict, add: tuple) -> list[tuple]:
    get(p, add)[1] = "phone_home"
    return [add]


def _rename_city(p: dict, rule_set: tuple) -> list[tuple]:
    path = _leaf(p, rule_set, "city")
    get(p, path)[1] = "town"
    return [path]


drop_nested = nested_rule("crm-company-transform", "golden-address", _drop_zip)
retarget = each_add("crm-contact-transform", "phone_mobile", _rename_target)
retarget_nested = nested_rule("crm-company-transform", "golden-address", _rename_city)


def replace_ref(pipe_id: str, prop: str, namespace: str, old: str, new: str):
    def edit_one(p: dict, add: tuple) -> list[tuple]:
        paths = refs(p, namespace, old, add)
        for path in paths:
            parent = get(p, path[:-1])
            parent[path[-1]] = parent[path[-1]].replace(f"{namespace}:{old}", f"{namespace}:{new}")
        return paths
    return each_add(pipe_id, prop, edit_one)


def golden_items(p: dict) -> list[tuple[tuple, str]]:
    """(path of the key, golden key) of an enrich pipe's golden candidates: the pairs of
    ``["dict", "global-<concept>:<golden>", "_S.<property>", …]`` in its ``candidates`` rule, which reads
    the record without namespaces (and the record's -transform entity, for ``$desired``)."""
    rules, base = rules_of(p)
    found = []
    for path, node in nodes(rules["candidates"], base + ("candidates",)):
        if isinstance(node, list) and node[:1] == ["dict"] and len(node) % 2 == 1:
            found += [(path + (i,), node[i]) for i in range(1, len(node), 2)
                      if isinstance(node[i], str) and node[i].startswith("global-") and _reads_source(node[i + 1])]
    return found


def _reads_source(value) -> bool:
    if isinstance(value, list):
        return any(_reads_source(v) for v in value)
    return isinstance(value, str) and value.startswith("_S.")


def drop_candidate(enrich_id: str, golden: str):
    """The datatype no longer offers its value for a golden property (its key and value leave the dict)."""
    def edit(files: Config) -> Changed:
        p = pipe(files, enrich_id)
        path = next(path for path, key in golden_items(p) if key == golden)
        pair = get(p, path[:-1])
        del pair[path[-1]:path[-1] + 2]
        return [loc(p, path)]
    return edit


def replace_candidate(enrich_id: str, changes: dict[str, str]):
    """Offer another property as the datatype's value of golden properties (golden key -> property)."""
    def edit(files: Config) -> Changed:
        p = pipe(files, enrich_id)
        changed = []
        for path, key in golden_items(p):
            if key in changes:
                get(p, path[:-1])[path[-1] + 1] = f"_S.{changes[key]}"
                changed.append(loc(p, path))
        return changed
    return edit


swap_sources = replace_candidate("erp-employee-enrich", {"global-person:first-name": "lastName", "global-person:last-name": "firstName"})


def change_cast(pipe_id: str, prop: str, namespace: str, source: str, new: str | None):
    """Replace the cast around a reference (``new=None`` removes it)."""
    def edit_one(p: dict, add: tuple) -> list[tuple]:
        paths = [path[:-1] for path in refs(p, namespace, source, add)]
        for cast_path in paths:
            cast = get(p, cast_path)
            if new is None:
                get(p, cast_path[:-1])[cast_path[-1]] = cast[1]
            else:
                cast[0] = new
        return paths
    return each_add(pipe_id, prop, edit_one)


def _cast_zip(p: dict, add: tuple) -> list[tuple]:
    paths = refs(p, "global-organisation", "zip", add)
    for path in paths:
        parent = get(p, path[:-1])
        parent[path[-1]] = ["string", parent[path[-1]]]
    return paths


add_cast = nested_rule("crm-company-transform", "golden-address", _cast_zip)


def add_rule(pipe_id: str, rule: list, sets: list[str] | None = None):
    def edit(files: Config) -> Changed:
        p = pipe(files, pipe_id)
        rules, base = rules_of(p)
        changed = []
        for name in sets or producing_sets(p):
            if name in ("delete",):
                continue
            rules[name].append(rule)
            changed.append(loc(p, base + (name, len(rules[name]) - 1)))
        return changed
    return edit


def first_update_set(files: Config, pipe_id: str) -> list[str]:
    """The rule set that builds update entities (the one whose adds include the own value)."""
    p = pipe(files, pipe_id)
    rules, _ = rules_of(p)
    key = pipe_id.rsplit("-", 1)[0]
    return [name for name in producing_sets(p)
            if any(isinstance(n, str) and f"S.{key}:" in n and not n.endswith((":id",)) for _, n in nodes(rules[name]))
            and not any(r[:2] == ["add", "$delete"] for r in rules[name] if isinstance(r, list))][:1]


def remove_pipe(pipe_id: str):
    def edit(files: Config) -> Changed:
        del files[f"pipes/{pipe_id}.conf.json"]
        return [(pipe_id, "$")]
    return edit


def rename(old: str, new: str):
    return lambda files: rename_pipe(files, old, new)


def insert_create(p: dict, creator: str) -> tuple:
    """Path of the ``create`` in the default rules that inserts from ``creator`` (named in it, or in the
    default rule's ``$insert-origin`` that it reads)."""
    rules, base = rules_of(p)
    for path, node in nodes(rules["default"], base + ("default",)):
        if isinstance(node, list) and node[:1] == ["create"] and isinstance(node[1], list) \
                and node[1][:1] == ["apply"] and any(n == creator or n == "_T.$insert-origin"
                                                     for _, n in nodes(node[1][2])):
            return path
    raise AssertionError(f"no insert from {creator} in {p['_id']}")


def creator_selection(p: dict, creator: str) -> tuple:
    """Path of the default rule's ``$insert-origin``: the namespaces an insert may come from."""
    rules, base = rules_of(p)
    for i, rule in enumerate(rules["default"]):
        if rule[:2] == ["add", "$insert-origin"] and creator in json.dumps(rule):
            return base + ("default", i)
    raise AssertionError(f"no insert from {creator} in {p['_id']}")


def edit_creators(pipe_id: str, creator: str, add: str | None = None, remove: bool = False):
    def edit(files: Config) -> Changed:
        p = pipe(files, pipe_id)
        selection = creator_selection(p, creator)
        changed = []
        for path, node in nodes(get(p, selection), selection):
            if isinstance(node, list) and node[:1] == ["list"] and creator in node:
                if remove:
                    node.remove(creator)
                if add:
                    node.append(add)
                changed.append(loc(p, path))
        return changed
    return edit


def create_blank(files: Config) -> Changed:
    """Insert from every ERP employee, though the flow maps no property (a blank record)."""
    p = pipe(files, "crmoffice-contacts-transform")
    rules, base = rules_of(p)
    origin = ["first", ["filter", ["in", ["ni-ns", "_."], ["list", "customerp-employee"]], "_S.$ids"]]
    rules["insert"] = [["add", "_id", ["concat", ["ni-ns", "_S.origin"], ":", ["ni-id", "_S.origin"]]],
                       ["add", "$origin", "_S.origin"], ["add", "$ids", "_R._S.$ids"]]
    rules["default"].insert(0, ["if", ["is-empty", ["filter", ["in", ["ni-ns", "_."], ["list", "crmoffice-contacts"]],
                                                       "_S.$ids"]],
                                [["create", ["apply", "insert", ["dict", "origin", origin]]]]])
    return [loc(p, base + ("default", 0))]


def drop_insert(files: Config) -> Changed:
    p = pipe(files, "crm-contact-transform")
    create = insert_create(p, "erp-employee")
    delete(p, create)
    return [loc(p, create)]


def drop_operation(pipe_id: str, operation: str):
    """The share template no longer names the operation (it falls back to one the system lacks)."""
    def edit(files: Config) -> Changed:
        p = pipe(files, pipe_id)
        for i, step in enumerate(p["transform"]):
            props = step.get("properties") or {}
            for key, value in list(props.items()):
                if key.startswith("operation_") and value == operation:
                    del props[key]
                    return [loc(p, ("transform", i, "properties"))]
        raise AssertionError(f"{pipe_id} never calls {operation}")
    return edit


def stop_deleting(pipe_id: str):
    """The share pipe's DTL step no longer turns the transform's delete entities into deletes."""
    def edit(files: Config) -> Changed:
        p = pipe(files, pipe_id)
        rules, base = rules_of(p)
        i = next(j for j, r in enumerate(rules["default"]) if r[:2] == ["add", "_deleted"])
        delete(p, base + ("default", i))
        return [loc(p, base + ("default",))]
    return edit


def equality_set(p: dict, *suffixes: str) -> tuple:
    """The set holding a member of each suffix; a joined set may hold more (criteria sharing a key)."""
    for i, members in enumerate(p["source"]["equality_sets"]):
        if all(any(m.endswith(s) for m in members) for s in suffixes):
            return ("source", "equality_sets", i)
    raise AssertionError(f"no equality set of {suffixes}")


def alias(p: dict, key: str) -> str:
    return next(d.split()[1] for d in p["source"]["datasets"] if d.split()[0] == f"{key}-enrich")


def employee_members(p: dict) -> list[tuple]:
    """The employee's e-mail key in every set: paired with the CRM contact's key (its flow's criterion)
    and with the ERP customer's (which both flows' criteria imply). Editing them all changes the
    employee's criterion alone."""
    return [("source", "equality_sets", i, j) for i, members in enumerate(p["source"]["equality_sets"])
            for j, m in enumerate(members) if m.endswith(".erp-employee:mergekey-email")]


def change_merge(files: Config) -> Changed:
    p = pipe(files, "global-person")
    paths = employee_members(p)
    assert len(paths) == 2, paths
    for path in paths:
        get(p, path[:-1])[path[-1]] = get(p, path).replace(":mergekey-email", ":phone")
    return [loc(p, path) for path in paths]


def remove_merge(files: Config) -> Changed:
    p = pipe(files, "global-person")
    paths = employee_members(p)
    assert len(paths) == 2, paths
    for path in reversed(paths):
        delete(p, path[:-1])
    return [loc(p, path[:-1]) for path in paths]


def widen_merge(files: Config) -> Changed:
    """A CRM contact's last name put into the employee's e-mail set: it now compares with the ERP e-mails."""
    p = pipe(files, "global-person")
    path = equality_set(p, ".erp-employee:mergekey-email", ".crm-contact:mergekey-email")
    get(p, path).append(f"{alias(p, 'crm-contact')}.crm-contact:last_name")
    return [loc(p, path)]


def add_merge(global_id: str, a: str, a_prop: str, b: str, b_prop: str):
    def edit(files: Config) -> Changed:
        p = pipe(files, global_id)
        sets = p["source"]["equality_sets"]
        sets.append([f"{alias(p, a)}.{a}:{a_prop}", f"{alias(p, b)}.{b}:{b_prop}"])
        return [loc(p, ("source", "equality_sets", len(sets) - 1))]
    return edit


def change_combined_key(files: Config) -> Changed:
    p = pipe(files, "crm-company-enrich")
    rules, base = rules_of(p)
    changed = []
    # Only the merge-key rules: the golden candidates read the same property.
    keyed = [(i, rule) for i, rule in enumerate(rules["default"]) if str(rule[1]).startswith("mergekey-")]
    for path, node in (found for i, rule in keyed for found in nodes(rule, base + ("default", i))):
        if is_city_ref(node):
            get(p, path[:-1])[path[-1]] = node.replace("crm-company:city", "crm-company:zip")
            changed.append(loc(p, path))
    return changed


def is_city_ref(node) -> bool:
    return isinstance(node, str) and node.startswith("_S.") and node.endswith("crm-company:address.crm-company:city")


def drop_origin(global_id: str):
    def edit(files: Config) -> Changed:
        p = pipe(files, global_id)
        i = next(j for j, members in enumerate(p["source"]["equality_sets"])
                 if any(m.endswith(".$origin") for m in members))
        delete(p, ("source", "equality_sets", i))
        return [loc(p, ("source", "equality_sets", i))]
    return edit


def turn_on_deletes(pipe_id: str):
    def edit(files: Config) -> Changed:
        p = pipe(files, pipe_id)
        key = pipe_id.rsplit("-", 1)[0]
        rules, base = rules_of(p)
        rules["delete-by-hand"] = [["add", "_id", "_S._id"], ["add", "$delete", True]]
        rules["default"].insert(0, ["if", ["eq", "_S._deleted", True], [
            ["create", ["apply-hops", "delete-by-hand", {"datasets": [f"{key}-enrich t"],
                                                         "where": [["eq", "t.$origin", "_S.$ids"]]}]]]])
        # ... and the share pipe hands them to its template as deletes, as a delete flow's does.
        share = pipe(files, f"{key}-share")
        share_rules, share_base = rules_of(share)
        share_rules["default"].append(["add", "_deleted", ["eq", "_S.$delete", True]])
        return [loc(p, base + ("default", 0)), loc(share, share_base + ("default", len(share_rules["default"]) - 1))]
    return edit


def turn_off_deletes(files: Config) -> Changed:
    p = pipe(files, "crm-company-transform")
    rules, base = rules_of(p)
    deleting = {name for name, rule_set in rules.items()
                if any(isinstance(r, list) and r[:3] == ["add", "$delete", True] for r in rule_set)}
    changed = []
    for path, node in reversed(list(nodes(rules["default"], base + ("default",)))):
        if isinstance(node, list) and node[:1] == ["create"] and isinstance(node[1], list) and node[1][1] in deleting:
            delete(p, path)
            changed.append(loc(p, path))
    return changed


def unlink(files: Config) -> Changed:
    p = pipe(files, "global-organisation")
    name = alias(p, "erp-department")
    p["source"]["datasets"] = [d for d in p["source"]["datasets"] if d.split()[1] != name]
    sets = [[m for m in members if not m.startswith(name + ".")] for members in p["source"]["equality_sets"]]
    p["source"]["equality_sets"] = [s for s in sets if len(s) > 1]
    return [loc(p, ("source",))]


def drop_in_share(files: Config) -> Changed:
    p = pipe(files, "crm-contact-share")
    rules, base = rules_of(p)
    rules["default"].append(["remove", "email"])
    return [loc(p, base + ("default", len(rules["default"]) - 1))]


def unreadable_value(files: Config) -> Changed:
    p = pipe(files, "crm-contact-transform")
    path = adds(p, "first_name")[0]  # one rule set only: the update's, or the values both share
    rule = get(p, path)
    rule[2] = ["upper", rule[2]]
    return [loc(p, path)]


# --------------------------------------------------------------------------- the suite


@dataclass(frozen=True)
class Mutation:
    name: str
    edit: Callable[[Config], Changed]
    expect: tuple  # (kind, flows, property, pipe) per finding
    spec: str = "example"


def one(kind: str, flows, prop, pipe_id) -> tuple:
    return ((kind, tuple(flows) if isinstance(flows, (tuple, list)) else (flows,), prop, pipe_id),)


MUTATIONS = [
    Mutation("drop a property", drop_property,
             one("property-missing", EMP, "firstName -> first_name", "crm-contact-transform")),
    # A golden property feeds every target property of its set: both lose the source.
    Mutation("drop one source of a fan-in", drop_candidate("erp-customer-enrich", "global-person:last-name"),
             one("property-missing", CUST_CONTACT, "name -> last_name", "crm-contact-transform")
             + one("property-missing", CUST_CONTACT, "name -> lastName", "erp-employee-transform")),
    Mutation("drop a nested property", drop_nested,
             one("property-missing", ORG, "zip -> address.zip", "crm-company-transform")),
    Mutation("drop a property read backwards", drop_backward,
             one("property-missing", EMP, "firstName -> first_name", "erp-employee-transform")),
    Mutation("drop one target of a fan-out", each_add("crm-contact-transform", "phone_work", _deleted),
             one("property-missing", EMP, "phone -> phone_work", "crm-contact-transform")),
    Mutation("retarget a property", retarget,
             one("property-different-target", EMP, "phone -> phone_mobile", "crm-contact-transform")),
    Mutation("retarget a nested property", retarget_nested,
             one("property-different-target", ORG, "city -> address.city", "crm-company-transform")),
    Mutation("change a property's source", replace_candidate("erp-employee-enrich", {"global-person:email": "privateEmail"}),
             one("property-different-source", EMP, "email -> email", "crm-contact-transform")),
    Mutation("change a cast", change_cast("crm-contact-transform", "first_name", "global-person", "first-name", "integer"),
             one("property-different-type", EMP, "firstName -> first_name", "crm-contact-transform")),
    Mutation("remove a cast", change_cast("crm-contact-transform", "last_name", "global-person", "last-name", None),
             one("property-different-type", EMP, "lastName -> last_name", "crm-contact-transform")
             + one("property-different-type", CUST_CONTACT, "name -> last_name", "crm-contact-transform")),
    Mutation("cast a property the spec leaves as is", add_cast,
             one("property-different-type", ORG, "zip -> address.zip", "crm-company-transform")),
    Mutation("swap two sources", swap_sources,
             one("property-different-target", EMP, "firstName -> first_name", "crm-contact-transform")
             + one("property-different-target", EMP, "lastName -> last_name", "crm-contact-transform")),
    Mutation("map an extra property", add_rule("crm-contact-transform", ["add", "nickname", ["string", "_R._S.erp-employee:nick"]]),
             one("property-extra", EMP, "nick -> nickname", "crm-contact-transform")),
    Mutation("map between datatypes no flow connects",
             add_rule("erp-department-transform", ["add", "manager", "_R._S.crm-contact:last_name"]),
             one("flow-extra", "crm.contact -> erp.department", None, "erp-department-transform")
             + one("property-extra", "crm.contact -> erp.department", "last_name -> manager", "erp-department-transform")),
    *[Mutation(f"remove the {role} pipe", remove_pipe(f"crm-contact-{role}"),
               one("pipe-missing", CONTACT_FLOWS, None, f"crm-contact-{role}"))
      for role in ("all", "collect", "enrich", "transform", "share")],
    Mutation("remove the global pipe", remove_pipe("global-organisation"),
             one("pipe-missing", ORG_FLOWS, None, "global-organisation")),
    Mutation("rename a transform pipe", rename("crm-contact-transform", "crm-contact-desired"),
             one("pipe-renamed", CONTACT_FLOWS, None, "crm-contact-desired")),
    Mutation("rename an -all pipe", rename("crm-contact-all", "crm-contact-read"),
             one("pipe-renamed", CONTACT_FLOWS, None, "crm-contact-read")),
    Mutation("rename a share pipe", rename("erp-employee-share", "erp-employee-writer"),
             one("pipe-renamed", (EMP, CONTACT_EMP), None, "erp-employee-writer")),
    Mutation("rename the global pipe", rename("global-organisation", "global-crm"),
             one("pipe-renamed", ORG_FLOWS, None, "global-crm")),
    Mutation("weaken a create rule to link-only", edit_creators("crm-contact-transform", "erp-employee", remove=True),
             one("create-different", EMP, None, "crm-contact-transform")),
    Mutation("remove the insert", drop_insert, one("create-different", EMP, None, "crm-contact-transform")),
    Mutation("create where the spec only links", edit_creators("crm-contact-transform", "erp-employee", add="erp-customer"),
             one("create-different", CUST_CONTACT, None, "crm-contact-transform")),
    Mutation("create from a datatype no flow names", edit_creators("crm-contact-transform", "erp-employee", add="erp-department"),
             one("flow-extra", "erp.department -> crm.contact", None, "crm-contact-transform")),
    Mutation("never call the insert operation", drop_operation("crm-contact-share", "contact-insert"),
             one("create-different", EMP, None, "crm-contact-share")),
    Mutation("never call the update operation", drop_operation("crm-contact-share", "contact-update"),
             one("update-missing", (CUST_CONTACT, EMP), None, "crm-contact-share")),
    Mutation("change merge criteria", change_merge, one("merge-different", EMP, None, "global-person")),
    Mutation("remove a merge criterion", remove_merge, one("merge-missing", EMP, None, "global-person")),
    Mutation("add a merge criterion", add_merge("global-person", "erp-employee", "lastName", "crm-contact", "last_name"),
             one("merge-extra", (EMP, CONTACT_EMP), None, "global-person")),
    Mutation("add a member to a joined merge set", widen_merge,
             one("merge-extra", (EMP, CONTACT_EMP), None, "global-person")
             + one("merge-extra", CUST_CONTACT, None, "global-person")),
    Mutation("change a combined merge key", change_combined_key, one("merge-different", ORG, None, "global-organisation")),
    Mutation("stop linking created entities to their origin", drop_origin("global-organisation"),
             one("origin-missing", ORG, None, "global-organisation")
             + one("origin-missing", DEPT_COMP, None, "global-organisation")),
    Mutation("turn on deletes", turn_on_deletes("crm-contact-transform"),
             one("delete-different", (EMP, CUST_CONTACT), None, "crm-contact-transform")),
    Mutation("turn off deletes", turn_off_deletes, one("delete-different", DEPT_COMP, None, "crm-company-transform")),
    Mutation("never call the delete operation", drop_operation("crm-company-share", "company-delete"),
             one("delete-different", DEPT_COMP, None, "crm-company-share")),
    Mutation("discard the delete entities before the share template", stop_deleting("crm-company-share"),
             one("delete-different", DEPT_COMP, None, "crm-company-share")),
    Mutation("take a datatype out of the merge", unlink,
             one("flow-missing", COMP_DEPT, None, "global-organisation") + one("flow-missing", DEPT_COMP, None, "global-organisation")),
    Mutation("remove a property from the share payload", drop_in_share,
             one("property-missing", EMP, "email -> email", "crm-contact-share")
             + one("property-missing", CUST_CONTACT, "email -> email", "crm-contact-share")),
    Mutation("compute a value qa cannot read", unreadable_value,
             one("unverified", CONTACT_FLOWS, None, "crm-contact-transform")),
    Mutation("add a rule qa does not interpret",
             lambda files: add_rule("crm-contact-transform", ["merge", "_R._S.erp-employee:address"],
                                    first_update_set(files, "crm-contact-transform"))(files),
             one("unverified", CONTACT_FLOWS, None, "crm-contact-transform")),
    Mutation("create blank records (no property table)", create_blank,
             one("create-different", "customerp.employee -> crmoffice.contacts", None, "crmoffice-contacts-transform"),
             spec="default"),
    Mutation("turn on deletes (no property table)", turn_on_deletes("crmoffice-companies-transform"),
             one("delete-different", "customerp.product -> crmoffice.companies", None, "crmoffice-companies-transform"),
             spec="default"),
]


def test_at_least_thirty_kinds():
    assert len({m.name for m in MUTATIONS}) >= 30


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_mutation_is_found_exactly(mutation: Mutation, example: Config, default: Config, bare_default: Path):
    base, spec = (example, EXAMPLE) if mutation.spec == "example" else (default, bare_default)
    files, changed = mutated(base, mutation.edit)
    assert changed, "the edit changed nothing"
    result = run(files, spec)
    got = sorted((f.kind, f.flows, f.property, f.pipe) for f in result.findings)
    assert got == sorted(mutation.expect), "\n".join(f"{f.kind}: {f.message} @ {f.pipe} {f.path}" for f in result.findings)
    changed_pipes = {pipe_id for pipe_id, _ in changed}
    for finding in result.findings:
        if finding.pipe in changed_pipes and finding.paths:
            edited = [path for pipe_id, path in changed if pipe_id == finding.pipe]
            assert any(p.startswith(e) or e.startswith(p) for p in finding.paths for e in edited), \
                (finding.paths, edited)


def test_equality_sets_that_share_a_member_read_as_one_set(example: Config):
    """Sets that share a member add up to one set (configuration-sources-merge.rst l.296-325): the
    e-mail pairs written as one set of three state the same criteria, so no finding."""
    def join(files: Config) -> Changed:
        p = pipe(files, "global-person")
        sets = p["source"]["equality_sets"]
        pairs = [i for i, members in enumerate(sets) if any(m.endswith(":mergekey-email") for m in members)]
        assert len(pairs) == 3, sets
        one = list(dict.fromkeys(m for i in pairs for m in sets[i]))
        sets[pairs[0]:] = [one]
        return [loc(p, ("source", "equality_sets", pairs[0]))]

    files, changed = mutated(example, join)
    assert changed
    assert not run(files, EXAMPLE).findings


B6_SPEC = ROOT / "tests" / "fixtures" / "simulate" / "review-b6-specs" / "customers-people.yaml"


@pytest.mark.parametrize("edit, pipe_id", [
    ("split", "erp-customer-person-enrich"),  # the split takes every customer
    ("key", "erp-customer-enrich"),  # every customer holds the key that links with contacts
    ("value", "erp-customer-person-enrich"),  # the split takes the companies instead
])
def test_a_subset_that_differs_from_the_spec_is_found(edit, pipe_id):
    files = generate(B6_SPEC)
    assert not run(files, B6_SPEC).findings
    rules, _ = rules_of(pipe(files, pipe_id))
    default = rules["default"]
    if edit == "split":
        del default[1]
    elif edit == "key":
        (key,) = [r for r in default if r[:2] == ["add", "mergekey-email-person"]]
        key[2] = key[2][2]
    else:
        default[1][2][2][1][2][1] = False
    (finding,) = run(files, B6_SPEC).findings
    assert (finding.kind, finding.pipe) == ("subset-different", pipe_id)
    assert finding.expected == "the records whose isPrivate is true"
