"""Negative suite of `pipegen validate`: one broken config per rule, each with its exact message.

Every case starts from the clean generated-like fixture, breaks one thing, and asserts
the complete list of problems: file, line and column (of a marker in the broken text,
found independently of the validator), JSON path, level and message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from generator.util.fsutil import read_tree
from generator.util.jsonfmt import dumps
from generator.validation.api import format_problem, validate_files
from generator.validation.node_rules import BATCH_TO_SINK, DELETED_PASS, HOPS_TO_SINK, INSERT_BATCH

FIXTURE = Path(__file__).parent / "fixtures" / "validate" / "generated"

COLLECT = "pipes/customerp-employee-collect.conf.json"
CRM_COLLECT = "pipes/crmoffice-contacts-collect.conf.json"
ENRICH = "pipes/customerp-employee-enrich.conf.json"
GLOBAL = "pipes/global-person.conf.json"
TRANSFORM = "pipes/crmoffice-contacts-transform.conf.json"
EMP_TRANSFORM = "pipes/customerp-employee-transform.conf.json"
SHARE = "pipes/crmoffice-contacts-share.conf.json"
EMP_SHARE = "pipes/customerp-employee-share.conf.json"
SYSTEM = "systems/customerp.conf.json"
CRM = "systems/crmoffice.conf.json"
META = "node-metadata.conf.json"
VARS = "variables.json"


class Folder:
    """The fixture as parsed JSON, to break; ``texts()`` renders it canonically."""

    def __init__(self) -> None:
        self.raw = read_tree(FIXTURE)
        self.data: dict[str, Any] = {name: json.loads(text) for name, text in self.raw.items()}
        self.text_override: dict[str, str] = {}

    def __getitem__(self, name: str) -> Any:
        return self.data[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self.data[name] = value

    def __delitem__(self, name: str) -> None:
        del self.data[name]

    def rules(self, name: str, index: int | None = None) -> dict:
        transform = self.data[name]["transform"]
        if index is not None:
            transform = transform[index]
        return transform["rules"]

    def texts(self) -> dict[str, str]:
        out = {name: dumps(value) for name, value in self.data.items()}
        out.update(self.text_override)
        return out


@dataclass
class Expect:
    file: str
    marker: str  # the problem points at the first occurrence of marker (after anchor)
    path: str
    level: str
    message: str
    anchor: str = ""

    def line(self, texts: dict[str, str], root: str = "") -> str:
        text = texts[self.file]
        start = text.index(self.anchor) if self.anchor else 0
        offset = text.index(self.marker, start)
        line = text.count("\n", 0, offset) + 1
        col = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return f"{self.file}:{line}:{col}: {self.path}: {self.level}: {self.message}"


@dataclass
class Case:
    rule: str
    breaks: Callable[[Folder], None]
    expect: list[Expect] = field(default_factory=list)


def E(file, marker, path, message, anchor="") -> Expect:
    return Expect(file, marker, path, "error", message, anchor)


def W(file, marker, path, message, anchor="") -> Expect:
    return Expect(file, marker, path, "warning", message, anchor)


# ---------------------------------------------------------------------------------------
# the breaks


def syntax_error(f: Folder) -> None:
    f.text_override[ENRICH] = '{\n  "_id": "customerp-employee-enrich",\n  "type": "pipe"\n  "source": {}\n}\n'


def duplicate_key(f: Folder) -> None:
    f.text_override[META] = dumps(f[META]).replace('"type": "metadata",', '"type": "metadata",\n  "type": "metadata",')


def not_an_object(f: Folder) -> None:
    f.text_override[ENRICH] = '"customerp-employee-enrich"\n'


def unknown_component_type(f: Folder) -> None:
    f[ENRICH]["type"] = "pipeline"


def misnamed_file(f: Folder) -> None:
    f["pipes/enrich.conf.json"] = f.data.pop(ENRICH)


def pipe_in_systems(f: Folder) -> None:
    f["systems/customerp-employee-enrich.conf.json"] = f.data.pop(ENRICH)


def variables_not_object(f: Folder) -> None:
    f[VARS] = ["crmoffice-base-url", "customerp-base-url"]


def external_not_list(f: Folder) -> None:
    f["external-datasets.json"] = {"datasets": ["x"]}


def missing_source(f: Folder) -> None:
    del f[ENRICH]["source"]


def unknown_property(f: Folder) -> None:
    f[ENRICH]["batchsize"] = 10


def wrong_type(f: Folder) -> None:
    f[EMP_SHARE]["batch_size"] = "1"


def unknown_source_type(f: Folder) -> None:
    f[ENRICH]["source"]["type"] = "datset"


def wrong_const(f: Folder) -> None:
    f[META]["_id"] = "nodes"


def below_minimum(f: Folder) -> None:
    f[ENRICH]["batch_size"] = 0


def missing_default_rule(f: Folder) -> None:
    rules = f.rules(ENRICH)
    rules["main"] = rules.pop("default")


def missing_url_pattern(f: Folder) -> None:
    del f[CRM]["url_pattern"]


def bad_method(f: Folder) -> None:
    f[SYSTEM]["operations"]["employee-lookup"]["method"] = "get"


def duplicate_id(f: Folder) -> None:
    f[CRM]["_id"] = "global-person"
    f[CRM_COLLECT]["source"]["system"] = "global-person"
    f[SHARE]["transform"]["transforms"][1]["system"] = "global-person"


def slash_in_pipe_id(f: Folder) -> None:
    f[EMP_SHARE]["_id"] = "customerp/employee-share"
    f[EMP_SHARE]["sink"]["dataset"] = "customerp-employee-share"


def dangling_dataset(f: Folder) -> None:
    f[ENRICH]["source"]["dataset"] = "customerp-employees-collect"


def dangling_merge_dataset(f: Folder) -> None:
    f[GLOBAL]["source"]["datasets"][1] = "crmoffice-contact-enrich b"


def dangling_hops_dataset(f: Folder) -> None:
    hops = f.rules(TRANSFORM)["default"][4][3][0][2][1][2]
    hops["datasets"] = ["crmoffice-contacts-all c"]


def dangling_exclude_completeness(f: Folder) -> None:
    f[ENRICH]["exclude_completeness"] = ["customerp-employee-share-old"]


def dangling_lookup(f: Folder) -> None:
    f.rules(ENRICH)["default"].append(["add", "code", ["lookup-entity", "country-codes", "_S.country"]])


def external_but_written(f: Folder) -> None:
    f["external-datasets.json"] = ["global-person"]


def own_sink_hops_batch(f: Folder) -> None:
    del f[SHARE]["batch_size"]


def merge_pair_malformed(f: Folder) -> None:
    f[GLOBAL]["source"]["datasets"][0] = "customerp-employee-enrich"


def merge_duplicate_alias(f: Folder) -> None:
    f[GLOBAL]["source"]["datasets"].append("crmoffice-contacts-collect b")


def merge_unknown_alias(f: Folder) -> None:
    f[GLOBAL]["source"]["equality_sets"][2][0] = "c.$origin"


def merge_unused_alias(f: Folder) -> None:
    f[GLOBAL]["source"]["datasets"].append("customerp-employee-collect c")


def merge_version_1(f: Folder) -> None:
    del f[GLOBAL]["source"]["version"]


def merge_bad_equality(f: Folder) -> None:
    f[GLOBAL]["source"]["equality"] = [["neq", "a._id", "b._id"]]


def unknown_system(f: Folder) -> None:
    f[EMP_SHARE]["transform"][0]["system"] = "custom-erp"


def wrong_system_type(f: Folder) -> None:
    f[SYSTEM]["type"] = "system:url"
    del f[SYSTEM]["operations"]


def unknown_operation(f: Folder) -> None:
    f[COLLECT]["source"]["operation"] = "employees-list"


def unknown_transform_operation(f: Folder) -> None:
    f[SHARE]["transform"]["transforms"][1]["operation"] = "contact-insert"


def template_unknown_operation(f: Folder) -> None:
    f[CRM_COLLECT]["transform"].insert(0, {
        "type": "template", "template": "transform-collect-rest",
        "properties": {"rest_system": "crmoffice", "operation_lookup": "contacts-get", "primary_key": "contact_id",
                       "share_dataset": "crmoffice-contacts-share"},
    })


def custom_auth_operation(f: Folder) -> None:
    f[CRM]["custom_auth"] = {"get_token_operation": "get-token"}


def unused_system(f: Folder) -> None:
    f["systems/legacy.conf.json"] = {"_id": "legacy", "type": "system:url", "url_pattern": "http://legacy/%s"}


def microservice_id(f: Folder) -> None:
    f["systems/my_service.conf.json"] = {"_id": "_My.Service", "type": "system:microservice",
                                          "docker": {"image": "example/service:1", "port": 5000}}
    f[ENRICH]["source"] = {"type": "json", "system": "_My.Service", "url": "/entities"}


def microservice_id_case(f: Folder) -> None:
    f["systems/MyService.conf.json"] = {"_id": "MyService", "type": "system:microservice",
                                        "docker": {"image": "example/service:1", "port": 5000}}
    f[ENRICH]["source"] = {"type": "json", "system": "MyService", "url": "/entities"}


def secret_in_pipe(f: Folder) -> None:
    f[COLLECT]["source"]["properties"] = {"token": "$SECRET(customerp-api-token)"}


def nested_env(f: Folder) -> None:
    f[CRM]["url_pattern"] = "$ENV(crmoffice-$ENV(env)-url)/%s"


def unclosed_env(f: Folder) -> None:
    f[CRM]["url_pattern"] = "$ENV(crmoffice-base-url/%s"


def unlisted_env(f: Folder) -> None:
    f[VARS]["crmoffice-url"] = f[VARS].pop("crmoffice-base-url")
    f[CRM]["url_pattern"] = "$ENV(crmofice-url)/api/%s"


def no_variables_file(f: Folder) -> None:
    del f[VARS]


def unused_variable(f: Folder) -> None:
    f[VARS]["customerp-timeout"] = ""


def empty_env(f: Folder) -> None:
    f[CRM]["url_pattern"] = "$ENV()/api/%s"


def bad_cron(f: Folder) -> None:
    f[COLLECT]["pump"]["cron_expression"] = "*/15 25 * * *"


def cron_and_interval(f: Folder) -> None:
    f[COLLECT]["pump"]["schedule_interval"] = 60


def cycle(f: Folder) -> None:
    f[CRM_COLLECT]["exclude_completeness"] = []
    f[SHARE]["source"]["completeness"] = True


def cycle_without_completeness(f: Folder) -> None:
    f[CRM_COLLECT]["exclude_completeness"] = []


def own_sink_without_onload(f: Folder) -> None:
    del f[SHARE]["sink"]["set_initial_offset"]


def own_sink_misspelt_onload(f: Folder) -> None:
    f[SHARE]["sink"]["set-initial-offset"] = f[SHARE]["sink"].pop("set_initial_offset")


def own_sink_lookup_entity(f: Folder) -> None:
    f.rules(ENRICH)["default"].append(["add", "prev", ["lookup-entity", "customerp-employee-enrich", "_S._id"]])


def join_on_computed_value(f: Folder) -> None:
    f.rules(TRANSFORM)["default"][11:11] = [
        ["add", "code", "_S._id"],
        ["add", "contact", ["hops", {"datasets": ["crmoffice-contacts-collect c"], "where": [["eq", "c._id", "_T.code"]]}]],
        ["add", "untracked", ["hops", {"datasets": ["crmoffice-contacts-collect u"], "where": ["eq", "u._id", "_T.code"],
                                       "track-dependencies": False}]]]


def own_sink_apply_hops(f: Folder) -> None:
    f.rules(ENRICH)["default"].append(
        ["add", "prev", ["apply-hops", "previous", {"datasets": ["customerp-employee-enrich p"],
                                                    "where": ["eq", "_S._id", "p._id"]}]])
    f.rules(ENRICH)["previous"] = [["copy", "*"]]


def deleted_reach_insert(f: Folder) -> None:
    f[SHARE]["transform"]["transforms"][0]["rules"]["default"].pop(0)


def collect_template_completeness(f: Folder) -> None:
    f[CRM_COLLECT]["transform"].insert(0, {
        "type": "template", "template": "transform-collect-rest",
        "properties": {"rest_system": "crmoffice", "primary_key": "contact_id",
                       "share_dataset": "crmoffice-contacts-share"},
    })
    del f[CRM_COLLECT]["exclude_completeness"]


def share_template_batch(f: Folder) -> None:
    f[EMP_SHARE]["transform"] = {
        "type": "template", "template": "transform-share-rest",
        "properties": {"rest_system": "customerp", "primary_key": "id", "share_dataset": "customerp-employee-share",
                       "operation_update": "employee-update"},
    }
    del f[EMP_SHARE]["batch_size"]


def dtl_typo(f: Folder) -> None:
    f.rules(ENRICH)["default"][2][2][2][0] = "lowr"


def expression_as_transform(f: Folder) -> None:
    f.rules(ENRICH)["default"].append(["concat", "_S.a", "_S.b"])


def transform_as_expression(f: Folder) -> None:
    f.rules(ENRICH)["default"].append(["add", "x", ["rename", "a", "b"]])


def arity(f: Folder) -> None:
    f.rules(ENRICH)["default"].append(["add", "x", ["upper", "_S.a", "_S.b"]])


def apply_missing_rule(f: Folder) -> None:
    f.rules(TRANSFORM)["default"][4][3][0][2][1][1] = "based_on"


def apply_rule_with_hops(f: Folder) -> None:
    rules = f.rules(TRANSFORM)
    rules["default"][4][3][0][2] = ["first", ["apply", "based-on", "_S."]]
    rules["based-on"].append(["add", "c", ["hops", {"datasets": ["crmoffice-contacts-collect c"],
                                                    "where": ["eq", "_S._id", "c._id"]}]])


def unused_rule(f: Folder) -> None:
    f.rules(ENRICH)["unused"] = [["copy", "*"]]


def underscore_outside(f: Folder) -> None:
    f.rules(ENRICH)["default"].append(["add", "x", ["upper", "_.name"]])


def parent_in_default(f: Folder) -> None:
    f.rules(ENRICH)["default"].append(["add", "x", "_P._S.name"])


def bound_without_endpoint(f: Folder) -> None:
    f.rules(ENRICH)["default"].append(["add", "x", "_B.limit"])


def unknown_variable(f: Folder) -> None:
    f.rules(ENRICH)["default"].append(["add", "x", "_X.name"])


def hops_without_where(f: Folder) -> None:
    del f.rules(COLLECT)["default"][2][2][1][1]["where"]


def hops_alias_not_joined(f: Folder) -> None:
    f.rules(COLLECT)["default"][2][2][1][1]["where"] = [["eq", "_S.id", "_S.employee_id"]]


def hops_unknown_key(f: Folder) -> None:
    f.rules(COLLECT)["default"][2][2][1][1]["recursive"] = True


def hops_return_with_recurse(f: Folder) -> None:
    spec = f.rules(CRM_COLLECT, 1)["default"][1][2][1][1]
    spec["recurse"] = True


def hops_prefilters(f: Folder) -> None:
    f.rules(COLLECT)["default"][2][2][1][1]["prefilters"] = {"st": ["eq", "_S.type", "x"]}


def subset_not_literal(f: Folder) -> None:
    f[ENRICH]["source"]["subset"] = ["eq", "_S.type", ["ni", "customerp", "employee"]]


def literal_list(f: Folder) -> None:
    f.rules(ENRICH)["default"].append(["add", "x", [1, 2, 3]])


def string_argument(f: Folder) -> None:
    f.rules(ENRICH)["default"].append(["add", "x", ["join", ["concat", ",", " "], "_S.tags"]])


def case_eq_arity(f: Folder) -> None:
    f.rules(ENRICH)["default"].append(["add", "x", ["case-eq", "_S.a", "b"]])


def dict_arity(f: Folder) -> None:
    f.rules(ENRICH)["default"].append(["add", "x", ["dict", "a", 1, "b"]])


R = "$.transform.rules.default"
NO_VALUE = "; the node must define them before it runs these configs"
CRM_URL_UNUSED = W(VARS, '"crmoffice-base-url"', '$["crmoffice-base-url"]',
                   "variable 'crmoffice-base-url' is not used by any config")
CRM_CYCLE = ("dependency cycle: crmoffice-contacts-collect -> crmoffice-contacts-transform -> crmoffice-contacts-share"
             " -> crmoffice-contacts-collect holds back the completeness that pipe 'crmoffice-contacts-share' waits "
             "for; list the dataset in the reading pipe's exclude_completeness")


def own_sink_read(marker: str, path: str, what: str) -> list[Expect]:
    """The error and the warning of a read of the enrich pipe's own sink (no onload, no batch_size 1)."""
    dataset = "'customerp-employee-enrich'"
    return [E(ENRICH, marker, path, f"{what} the pipe's own sink dataset {dataset}, but the sink lacks "
                                    f"\"set_initial_offset\": \"onload\"; {HOPS_TO_SINK}"),
            W(ENRICH, marker, path, f"{what} the pipe's own sink dataset {dataset} without \"batch_size\": 1, so it "
                                    f"misses what it has just written; {BATCH_TO_SINK}")]


def not_written(dataset: str, hint: str = "") -> str:
    mean = f' (did you mean "{hint}"?)' if hint else ""
    return (f"dataset '{dataset}' is read but no pipe in this folder writes it{mean}; if it comes from elsewhere, "
            "list it in external-datasets.json")

CASES = [
    Case("json syntax", syntax_error,
         [E(ENRICH, '"source"', "$", "invalid JSON: Expecting ',' delimiter")]),
    Case("duplicate key", duplicate_key,
         [W(META, '"type"', "$.type", "duplicate key 'type' (only the last one counts)", anchor='"metadata",')]),
    Case("file holds no object", not_an_object,
         [E(ENRICH, '"', "$", "a config file must hold a JSON object (or a list of them)")]),
    Case("unknown component type", unknown_component_type,
         [E(ENRICH, '"pipeline"', "$.type",
            'unknown component type \'pipeline\': expected "pipe", "system:<kind>" or "metadata"')]),
    Case("file name differs from _id", misnamed_file,
         [W("pipes/enrich.conf.json", '"customerp-employee-enrich"', "$._id",
            "file name does not match _id (expected pipes/customerp-employee-enrich.conf.json)")]),
    Case("pipe in systems/", pipe_in_systems,
         [W("systems/customerp-employee-enrich.conf.json", '"pipe"', "$.type", "a pipe belongs in pipes/")]),
    Case("variables file not an object", variables_not_object,
         [E(VARS, "[", "$", "the variables file must be a JSON object: variable name -> value"),
          W(CRM, '"$ENV(crmoffice-base-url)/api/%s"', "$.url_pattern",
            f"$ENV variables given no value by variables.json: crmoffice-base-url, customerp-base-url{NO_VALUE}")]),
    Case("external datasets not a list", external_not_list,
         [E("external-datasets.json", "{", "$", "external datasets must be a JSON list of dataset ids")]),
    Case("required property", missing_source,
         [E(ENRICH, "{", "$", "missing required property 'source'")]),
    Case("unknown property", unknown_property,
         [W(ENRICH, '"batchsize"', "$.batchsize",
            "unknown property 'batchsize' (not in the Sesam reference) (did you mean \"batch_size\"?)")]),
    Case("property type", wrong_type,
         [E(EMP_SHARE, '"1"', "$.batch_size", 'expected an integer, got a string')]),
    Case("source type (discriminated variant)", unknown_source_type,
         [E(ENRICH, '"datset"', "$.source.type", 'invalid value "datset" (did you mean "dataset"?)')]),
    Case("constant value", wrong_const,
         [E(META, '"nodes"', "$._id", 'expected "node", got "nodes"')]),
    Case("minimum", below_minimum,
         [E(ENRICH, "0", "$.batch_size", "0 is less than the minimum of 1", anchor='"batch_size"')]),
    Case("DTL default rule", missing_default_rule,
         [E(ENRICH, "{", "$.transform.rules", "missing the 'default' rule (the entry point of a DTL transform)",
            anchor='"rules"'),
          W(ENRICH, '"main"', "$.transform.rules.main", "rule 'main' is never applied")]),
    Case("url_pattern or base_url", missing_url_pattern,
         [E(CRM, "{", "$", "missing required property 'url_pattern' (or the deprecated 'base_url')"),
          CRM_URL_UNUSED]),
    Case("enum", bad_method,
         [E(SYSTEM, '"get"', '$.operations["employee-lookup"].method',
            'invalid value "get" (did you mean "GET"?); expected one of: "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"')]),
    Case("unique _id", duplicate_id,
         [E(CRM, '"global-person"', "$._id",
            "duplicate _id 'global-person' (also in pipes/global-person.conf.json); ids must be unique across "
            "pipes and systems"),
          W(CRM, '"global-person"', "$._id", "file name does not match _id (expected systems/global-person.conf.json)")]),
    Case("no / in pipe ids", slash_in_pipe_id,
         [E(EMP_SHARE, '"customerp/employee-share"', "$._id", "a pipe _id must not contain '/'"),
          W(EMP_SHARE, '"customerp/employee-share"', "$._id",
            "file name does not match _id (expected pipes/customerp/employee-share.conf.json)")]),
    Case("dataset read but not written", dangling_dataset,
         [E(ENRICH, '"customerp-employees-collect"', "$.source.dataset",
            not_written("customerp-employees-collect", "customerp-employee-collect"))]),
    Case("merge dataset not written", dangling_merge_dataset,
         [E(GLOBAL, '"crmoffice-contact-enrich b"', "$.source.datasets[1]",
            not_written("crmoffice-contact-enrich", "crmoffice-contacts-enrich"))]),
    Case("hops dataset not written", dangling_hops_dataset,
         [E(TRANSFORM, '"crmoffice-contacts-all c"', f"{R}[4][3][0][2][1][2].datasets[0]",
            not_written("crmoffice-contacts-all", "crmoffice-contacts-collect"))]),
    Case("exclude_completeness dataset not written", dangling_exclude_completeness,
         [E(ENRICH, '"customerp-employee-share-old"', "$.exclude_completeness[0]",
            not_written("customerp-employee-share-old", "customerp-employee-share"))]),
    Case("lookup-entity dataset not written", dangling_lookup,
         [E(ENRICH, '"country-codes"', f"{R}[5][2][1]",
            "dataset 'country-codes' is read but no pipe in this folder writes it; if it comes from elsewhere, "
            "list it in external-datasets.json")]),
    Case("external dataset written here", external_but_written,
         [W("external-datasets.json", '"global-person"', "$[0]",
            "dataset 'global-person' is declared external but pipe 'global-person' writes it")]),
    Case("hops to own sink", own_sink_hops_batch,
         [W(SHARE, '"crmoffice-contacts-share s"', "$.transform.transforms[0].rules.default[2][2][1].datasets[0]",
            "hops to the pipe's own sink dataset 'crmoffice-contacts-share' without \"batch_size\": 1, so it misses "
            f"what it has just written; {BATCH_TO_SINK}"),
          W(SHARE, "{", "$.transform.transforms[1]", "this REST transform inserts (a POST operation) "
            f"but the pipe has no \"batch_size\": 1, so a failed batch repeats its inserts; {INSERT_BATCH}",
            anchor='["remove", "already_shared"]')]),
    Case("hops to own sink need onload", own_sink_without_onload,
         [E(SHARE, '"crmoffice-contacts-share s"', "$.transform.transforms[0].rules.default[2][2][1].datasets[0]",
            "hops to the pipe's own sink dataset 'crmoffice-contacts-share', but the sink lacks "
            f"\"set_initial_offset\": \"onload\"; {HOPS_TO_SINK}")]),
    Case("set_initial_offset spelt with hyphens", own_sink_misspelt_onload,
         [E(SHARE, '"crmoffice-contacts-share s"', "$.transform.transforms[0].rules.default[2][2][1].datasets[0]",
            "hops to the pipe's own sink dataset 'crmoffice-contacts-share', but the sink lacks "
            f"\"set_initial_offset\": \"onload\" ('set-initial-offset' is not read by the node); {HOPS_TO_SINK}"),
          W(SHARE, '"set-initial-offset"', '$.sink["set-initial-offset"]',
            "the node ignores 'set-initial-offset': the Sesam reference names this property 'set_initial_offset'")]),
    Case("lookup-entity in own sink", own_sink_lookup_entity,
         own_sink_read('"customerp-employee-enrich", "_S._id"', f"{R}[5][2][1]", "lookup-entity reads")),
    Case("tracked join on a computed value", join_on_computed_value,
         [W(TRANSFORM, '["eq", "c._id", "_T.code"]', f"{R}[12][2][1].where[0]",
            "this join reads _T.code, a value the transform computed, so dependency tracking cannot follow it: a "
            "change in the hopped dataset re-processes nothing (dtl/caveats.rst l.11-15: the inverse traversal "
            "\"matches against the source dataset's entities and not the transform's entities\"); join on a "
            "property of the source (_S.…), or set \"track-dependencies\": false to say so")]),
    Case("apply-hops into own sink", own_sink_apply_hops,
         own_sink_read('"customerp-employee-enrich p"', f"{R}[5][2][2].datasets[0]", "hops to")),
    Case("share pipe discards deleted entities", deleted_reach_insert,
         [W(SHARE, "{", "$.transform.transforms[1]",
            "this REST transform can insert or delete, and no earlier rule looks at \"_deleted\" (discard such "
            "entities, e.g. [\"filter\", [\"neq\", \"_S._deleted\", true]]), so a deleted source entity becomes a "
            f"call to the system; {DELETED_PASS}", anchor='["remove", "already_shared"]')]),
    Case("merge dataset pair", merge_pair_malformed,
         [E(GLOBAL, '"customerp-employee-enrich"', "$.source.datasets[0]",
            'expected "<dataset-id> <alias>", got "customerp-employee-enrich"'),
          E(GLOBAL, '"a.customerp-employee:email"', "$.source.equality_sets[0][0][1]",
            "unknown dataset alias 'a' in \"a.customerp-employee:email\" (declared: b)"),
          E(GLOBAL, '"a._id"', "$.source.equality_sets[1][0][1]", "unknown dataset alias 'a' in \"a._id\" (declared: b)"),
          E(GLOBAL, '"a.$origin"', "$.source.equality_sets[2][0]",
            "unknown dataset alias 'a' in \"a.$origin\" (declared: b)")]),
    Case("merge alias declared twice", merge_duplicate_alias,
         [E(GLOBAL, '"crmoffice-contacts-collect b"', "$.source.datasets[2]", "alias 'b' is declared twice")]),
    Case("merge unknown alias", merge_unknown_alias,
         [E(GLOBAL, '"c.$origin"', "$.source.equality_sets[2][0]",
            "unknown dataset alias 'c' in \"c.$origin\" (declared: a, b)")]),
    Case("merge alias unused", merge_unused_alias,
         [W(GLOBAL, '"customerp-employee-collect c"', "$.source.datasets[2]",
            "alias 'c' is not used in any equality rule, so its entities never merge")]),
    Case("merge version 1", merge_version_1,
         [W(GLOBAL, "{", "$.source", 'merge source version 1 is deprecated (and the default); set "version": 2',
            anchor='"source"')]),
    Case("merge equality rule", merge_bad_equality,
         [E(GLOBAL, '["neq"', "$.source.equality[0]", 'an equality rule must be ["eq", EXPRESSION, EXPRESSION]')]),
    Case("system exists", unknown_system,
         [E(EMP_SHARE, '"custom-erp"', "$.transform[0].system",
            "system 'custom-erp' does not exist (did you mean \"customerp\"?)")]),
    Case("system type fits", wrong_system_type,
         [E(COLLECT, '"customerp"', "$.source.system", "a rest source needs a system:rest system; 'customerp' is system:url"),
          E(EMP_SHARE, '"customerp"', "$.transform[0].system",
            "a rest transform needs a system:rest system; 'customerp' is system:url")]),
    Case("operation exists", unknown_operation,
         [E(COLLECT, '"employees-list"', "$.source.operation",
            "operation 'employees-list' is not defined in system 'customerp' (did you mean \"employee-list\"?)")]),
    Case("transform operation exists", unknown_transform_operation,
         [E(SHARE, '"contact-insert"', "$.transform.transforms[1].operation",
            "operation 'contact-insert' is not defined in system 'crmoffice' (did you mean \"contacts-insert\"?)")]),
    Case("template operation exists", template_unknown_operation,
         [E(CRM_COLLECT, '"contacts-get"', "$.transform[0].properties.operation_lookup",
            "operation 'contacts-get' is not defined in system 'crmoffice' (did you mean \"contacts-insert\"?)")]),
    Case("custom_auth operation exists", custom_auth_operation,
         [E(CRM, '"get-token"', "$.custom_auth.get_token_operation",
            "operation 'get-token' is not defined in this system's operations")]),
    Case("unused system", unused_system,
         [W("systems/legacy.conf.json", '"legacy"', "$._id", "system 'legacy' is not used by any pipe")]),
    Case("microservice _id", microservice_id,
         [E("systems/my_service.conf.json", '"_My.Service"', "$._id",
            "a microservice _id must start with a letter or digit, hold only letters, digits, '_' and '-', and be "
            "2 to 63 characters long"),
          W("systems/my_service.conf.json", '"_My.Service"', "$._id",
            "file name does not match _id (expected systems/_My.Service.conf.json)")]),
    Case("microservice _id lower-case", microservice_id_case,
         [W("systems/MyService.conf.json", '"MyService"', "$._id",
            "a microservice _id should be lower-case (it is a DNS name)")]),
    Case("$SECRET only in systems", secret_in_pipe,
         [E(COLLECT, '"$SECRET(customerp-api-token)"', "$.source.properties.token",
            "$SECRET(customerp-api-token) in a pipe: secrets are only allowed in systems and as the key of a DTL "
            "encryption function; let the system carry the secret")]),
    Case("$ENV never nested", nested_env,
         [E(CRM, '"$ENV(crmoffice-$ENV(env)-url)/%s"', "$.url_pattern",
            "$ENV(...) is nested inside $ENV(...); they cannot be nested"),
          W(CRM, '"$ENV(crmoffice-$ENV(env)-url)/%s"', "$.url_pattern",
            f"$ENV variables given no value by variables.json: env{NO_VALUE}"),
          CRM_URL_UNUSED]),
    Case("$ENV closed", unclosed_env,
         [E(CRM, '"$ENV(crmoffice-base-url/%s"', "$.url_pattern", "$ENV( is not closed with ')'"),
          CRM_URL_UNUSED]),
    Case("$ENV variable listed", unlisted_env,
         [W(CRM, '"$ENV(crmofice-url)/api/%s"', "$.url_pattern",
            f"$ENV variables given no value by variables.json: crmofice-url (did you mean \"crmoffice-url\"?){NO_VALUE}"),
          W(VARS, '"crmoffice-url"', '$["crmoffice-url"]', "variable 'crmoffice-url' is not used by any config")]),
    Case("variables file present", no_variables_file,
         [W(CRM, '"$ENV(crmoffice-base-url)/api/%s"', "$.url_pattern",
            "$ENV variables with no value (no variables.json, <profile>-env.json or --variables file): "
            f"crmoffice-base-url, customerp-base-url{NO_VALUE}")]),
    Case("variable used", unused_variable,
         [W(VARS, '"customerp-timeout"', '$["customerp-timeout"]', "variable 'customerp-timeout' is not used by any config")]),
    Case("$ENV has a name", empty_env,
         [E(CRM, '"$ENV()/api/%s"', "$.url_pattern", "$ENV() needs a name"),
          CRM_URL_UNUSED]),
    Case("cron expression", bad_cron,
         [E(COLLECT, '"*/15 25 * * *"', "$.pump.cron_expression",
            'invalid cron expression "*/15 25 * * *": hour 25 is out of range 0-23')]),
    Case("cron and interval", cron_and_interval,
         [W(COLLECT, "60", "$.pump.schedule_interval",
            "schedule_interval and cron_expression exclude each other; cron_expression wins")]),
    Case("dependency cycle without completeness is legal", cycle_without_completeness, []),
    Case("dependency cycle", cycle,
         [W(CRM_COLLECT, '"crmoffice-contacts-share st"', "$.transform[1].rules.default[1][2][1][1].datasets[0]",
            CRM_CYCLE)]),
    Case("collect template excludes its share dataset", collect_template_completeness,
         [W(CRM_COLLECT, '"crmoffice-contacts-share"', "$.transform[0].properties.share_dataset",
            "transform-collect-rest hops to share dataset 'crmoffice-contacts-share'; list it in the pipe's "
            "exclude_completeness, as the connector template does (connector-templates.rst l.30)"),
 ]),
    Case("share template batch size", share_template_batch,
         [W(EMP_SHARE, '"transform-share-rest"', "$.transform.template",
            "the transform-share-rest template inserts but the pipe has no \"batch_size\": 1, so a failed batch "
            f"repeats its inserts; {INSERT_BATCH}")]),
    Case("DTL function name", dtl_typo,
         [E(ENRICH, '"lowr"', f"{R}[2][2][2][0]", "unknown DTL function 'lowr' (did you mean \"lower\"?)")]),
    Case("expression function in a rule", expression_as_transform,
         [E(ENRICH, '"concat"', f"{R}[5][0]",
            "'concat' is an expression function; a rule holds transform functions (add, copy, if, ...) - wrap it, "
            "e.g. [\"add\", \"property\", [\"concat\", ...]]")]),
    Case("transform function as a value", transform_as_expression,
         [E(ENRICH, '"rename"', f"{R}[5][2][0]", "'rename' is a transform function; it cannot stand where a value is expected")]),
    Case("DTL arity", arity,
         [E(ENRICH, '["upper"', f"{R}[5][2]", "'upper' takes exactly 1 argument, got 2")]),
    Case("apply target exists", apply_missing_rule,
         [E(TRANSFORM, '"based_on"', f"{R}[4][3][0][2][1][1]",
            "'apply-hops' refers to rule 'based_on', which does not exist (did you mean \"based-on\"?)"),
          W(TRANSFORM, '"based-on": [', '$.transform.rules["based-on"]', "rule 'based-on' is never applied")]),
    Case("apply on a rule with hops", apply_rule_with_hops,
         [E(TRANSFORM, '["apply"', f"{R}[4][3][0][2][1]",
            "'apply' cannot run rule 'based-on', which uses hops; use 'apply-hops'")]),
    Case("rule never applied", unused_rule,
         [W(ENRICH, '"unused": [', "$.transform.rules.unused", "rule 'unused' is never applied")]),
    Case("_ only in function expressions", underscore_outside,
         [E(ENRICH, '"_.name"', f"{R}[5][2][1]",
            "'_' (the current value) only exists inside function expressions such as map, filter, sorted and coalesce")]),
    Case("_P only in applied rules", parent_in_default,
         [E(ENRICH, '"_P._S.name"', f"{R}[5][2]",
            "'_P' (the parent context) only exists inside rules run by apply or apply-hops")]),
    Case("_B only with an endpoint sink", bound_without_endpoint,
         [E(ENRICH, '"_B.limit"', f"{R}[5][2]", "'_B' (URL parameters) only exists in pipes with an HTTP endpoint sink")]),
    Case("unknown variable", unknown_variable,
         [W(ENRICH, '"_X.name"', f"{R}[5][2]", "unknown variable '_X' in \"_X.name\" (DTL variables: _S, _T, _P, _R, _B, _)")]),
    Case("hops needs where", hops_without_where,
         [E(COLLECT, "{", f"{R}[2][2][1][1]", "a hops specification needs 'where' to join its datasets", anchor='["hops"')]),
    Case("hops joins every alias", hops_alias_not_joined,
         [E(COLLECT, '"customerp-employee-share st"', f"{R}[2][2][1][1].datasets[0]",
            "dataset alias 'st' is not joined in 'where'")]),
    Case("hops keys", hops_unknown_key,
         [E(COLLECT, "true", f"{R}[2][2][1][1].recursive",
            "unknown hops key 'recursive' (did you mean \"recurse\"?)", anchor='"recursive"')]),
    Case("hops return with recurse", hops_return_with_recurse,
         [E(CRM_COLLECT, '"st.$origin"', "$.transform[1].rules.default[1][2][1][1].return",
            "'return' cannot be used with 'recurse'")]),
    Case("hops prefilters deprecated", hops_prefilters,
         [W(COLLECT, "{", f"{R}[2][2][1][1].prefilters", "'prefilters' is deprecated; use 'subsets'",
            anchor='"prefilters"')]),
    Case("subset literal", subset_not_literal,
         [E(ENRICH, '["ni"', "$.source.subset[2]", 'the right-hand side of a subset must be a literal value (e.g. '
                                                    '"~:foo:bar", not ["ni", "foo", "bar"])')]),
    Case("literal list", literal_list,
         [E(ENRICH, "[1, 2, 3]", f"{R}[5][2]",
            'expected a function call ["function-name", arguments...]; write a literal list as ["list", ...]')]),
    Case("string literal argument", string_argument,
         [E(ENRICH, '["concat"', f"{R}[5][2][1]", "argument 1 of 'join' must be a string literal")]),
    Case("case-eq pairs", case_eq_arity,
         [E(ENRICH, '["case-eq"', f"{R}[5][2]",
            "'case-eq' takes a VALUE, then VALUE_N, THEN pairs and an optional ELSE, got 2 argument(s)")]),
    Case("dict pairs", dict_arity,
         [E(ENRICH, '["dict"', f"{R}[5][2]",
            "'dict' takes no argument, one list of pairs, or KEY, VALUE pairs; got 3 arguments")]),
]


def test_fixture_is_clean():
    assert validate_files(Folder().texts()) == []


@pytest.mark.parametrize("kind", [[], {}, ["dataset"]], ids=["empty list", "dict", "list"])
def test_a_sink_type_of_any_json_value_is_reported_not_a_crash(kind):
    texts = Folder().texts()
    name = next(n for n in sorted(texts) if n.startswith("pipes/") and '"sink"' not in texts[n])
    pipe = json.loads(texts[name])
    pipe["sink"] = {"type": kind}
    texts[name] = dumps(pipe)
    problems = validate_files(texts)
    assert any(p.level == "error" and "sink" in format_problem(p) for p in problems)


def test_there_are_at_least_40_rules():
    assert len({c.rule for c in CASES}) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_rule(case: Case):
    folder = Folder()
    case.breaks(folder)
    texts = folder.texts()
    got = sorted(format_problem(p) for p in validate_files(texts))
    assert got == sorted(e.line(texts) for e in case.expect)
