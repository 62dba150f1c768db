"""qa reads both share pipe shapes: the transform-share-rest template (generated now) and DTL plus
REST transforms (generated before, and still on nodes that run such configs)."""

from __future__ import annotations

import copy

import pytest

from tests.support.qa_support import EXAMPLE, generate, pipe, run, summary

EMP = "erp.employee -> crm.contact"
CUST_CONTACT = "erp.customer -> crm.contact (human data)"
DEPT_COMP = "erp.department -> crm.company"


def rest_share(key: str, dt: str, deletes: bool) -> dict:
    """The earlier generated share pipe, reduced to what qa reads: the decide step sets `operation`,
    a REST transform triggered on `<dt>-*` calls it."""
    case = ["case"]
    if deletes:
        case += [["eq", "_S.$delete", True], ["add", "operation", f"{dt}-delete"]]
    case += [["is-null", "_S.id"], ["add", "operation", f"{dt}-insert"],
             True, ["add", "operation", f"{dt}-update"]]
    return {
        "_id": f"{key}-share", "type": "pipe",
        "source": {"type": "dataset", "dataset": f"{key}-transform"},
        "sink": {"type": "dataset", "deletion_tracking": False, "set_initial_offset": "onload"},
        "transform": [
            {"type": "dtl", "rules": {"default": [["discard", ["neq", "_S._deleted", True]],
                                                  ["copy", ["list", "_id", "$origin", "$ids"]],
                                                  ["add", "properties", ["dict", "id", "_S.id"]], case]}},
            {"type": "rest", "system": "crm", "trigger_on": {"key": "operation", "value": f"{dt}-*"},
             "side_effects": True, "replace_entity": False, "response_property": "response_body",
             "allowed_status_codes": "100-407,409-428,430-499"},
        ],
        "batch_size": 1,
    }


@pytest.fixture(scope="module")
def example():
    return generate(EXAMPLE)


def with_rest_shares(files: dict) -> dict:
    out = copy.deepcopy(files)
    out["pipes/crm-contact-share.conf.json"] = rest_share("crm-contact", "contact", deletes=False)
    out["pipes/crm-company-share.conf.json"] = rest_share("crm-company", "company", deletes=True)
    return out


def test_the_generated_template_shares_match_the_spec(example):
    assert summary(run(example, EXAMPLE)) == []


def test_the_earlier_rest_transform_shares_match_the_spec(example):
    assert summary(run(with_rest_shares(example), EXAMPLE)) == []


def test_an_earlier_share_that_never_deletes_is_found(example):
    files = with_rest_shares(example)
    files["pipes/crm-company-share.conf.json"] = rest_share("crm-company", "company", deletes=False)
    assert summary(run(files, EXAMPLE)) == [("delete-different", (DEPT_COMP,), None, "crm-company-share")]


def test_a_template_share_whose_delete_operation_is_another_datatypes_is_found(example):
    files = copy.deepcopy(example)
    props = pipe(files, "crm-company-share")["transform"][1]["properties"]
    props["operation_delete"] = "contact-delete"
    assert summary(run(files, EXAMPLE)) == [("delete-different", (DEPT_COMP,), None, "crm-company-share")]


def test_a_template_share_that_passes_no_deleted_entity_never_deletes(example):
    """A share template with no DTL step before it receives deleted entities and deletes; with the
    discard step and no `_deleted` rule after it, none reach it."""
    files = copy.deepcopy(example)
    share = pipe(files, "crm-company-share")
    share["transform"] = share["transform"][1]  # the template alone: deleted entities reach it
    assert summary(run(files, EXAMPLE)) == []
    share["transform"] = [{"type": "dtl", "rules": {"default": [["discard", ["neq", "_S._deleted", True]],
                                                               ["copy", "*"]]}}, share["transform"]]
    assert summary(run(files, EXAMPLE)) == [("delete-different", (DEPT_COMP,), None, "crm-company-share")]
