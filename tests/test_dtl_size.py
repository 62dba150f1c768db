"""bench/dtl_size.py: the size measure the sync review uses, on a folder made here."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("dtl_size", ROOT / "bench" / "dtl_size.py")
dtl_size = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dtl_size)


def _pipe(folder: Path, pipe: dict) -> None:
    (folder / "pipes").mkdir(exist_ok=True)
    (folder / "pipes" / f"{pipe['_id']}.conf.json").write_text(json.dumps(pipe), encoding="utf-8")


def test_every_json_value_of_a_transform_counts_and_template_parameters_are_told_apart(tmp_path):
    dtl = {"type": "dtl", "rules": {"default": [["copy", "*"]]}}  # dict, "dtl", rules, list, rule, "copy", "*": 7
    template = {"type": "template", "template": "transform-share-rest", "properties": {"rest_system": "crm"}}  # 5 values
    _pipe(tmp_path, {"_id": "crm-contact-share", "transform": [dtl, template]})
    _pipe(tmp_path, {"_id": "crm-contact-enrich", "transform": dtl})
    _pipe(tmp_path, {"_id": "crm-contact-all"})
    m = dtl_size.measure(tmp_path)
    assert m["per_kind"] == {"all": 0, "enrich": 7, "share": 12}  # the list of steps itself is no DTL
    assert m["total"] == 19
    assert m["templates"] == 5


def test_the_parts_add_up_to_the_total_and_name_what_each_rule_does(tmp_path):
    dtl = {"type": "dtl", "rules": {
        "default": [["copy", "*"], ["add", "golden", ["dict", "a", "_S.a"]], ["discard"]],  # 3 + 7 + 2 nodes
        "candidates": [["add", "x", "_S.x"]]}}  # its list and rule: 1 + 4
    template = {"type": "template", "template": "transform-share-rest", "properties": {"rest_system": "crm"}}
    _pipe(tmp_path, {"_id": "crm-contact-enrich", "transform": dtl})
    _pipe(tmp_path, {"_id": "crm-contact-share", "transform": [template]})
    parts = dtl_size.parts(tmp_path)
    assert sum(parts.values()) == dtl_size.measure(tmp_path)["total"]
    assert parts["enrich", "add golden"] == 7 and parts["enrich", "copy"] == 3 and parts["enrich", "discard"] == 2
    assert parts["enrich", "rule set candidates"] == 5
    assert parts["enrich", "(step)"] == 3  # the step, its "dtl" and the dict of rule sets
    assert parts["share", "template"] == 5
