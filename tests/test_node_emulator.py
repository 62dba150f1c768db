"""The emulator keeps the node's contract: responses valid against swagger_public.yaml, and sesamclient works with it."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import jsonschema
import pytest
import requests
import yaml

from tests.support.node_helpers import sample_configs

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SWAGGER = SHARED / "sesam-docs" / "hub" / "swagger_public.yaml"

PIPE = {"_id": "p1", "type": "pipe", "source": {"type": "dataset", "dataset": "d"},
        "transform": {"type": "dtl", "rules": {"default": [["copy", "*"]]}}}
SYSTEM = {"_id": "s1", "type": "system:url", "base_url": "http://example.org/"}


@pytest.fixture(scope="module")
def swagger():
    if not SWAGGER.is_file():
        pytest.skip("../shared/sesam-docs is not available")
    return yaml.safe_load(SWAGGER.read_text(encoding="utf-8"))


class Contract:
    """Checks a live response against the swagger operation it belongs to."""

    def __init__(self, spec: dict, node):
        self.spec = spec
        self.node = node
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {node.jwt}"
        self.templates = [(template, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"))
                          for template in spec["paths"]]
        self.checked: set[tuple[str, str]] = set()

    def operation(self, method: str, path: str) -> tuple[str, dict]:
        for template, pattern in self.templates:
            if pattern.match(path) and method.lower() in self.spec["paths"][template]:
                return template, self.spec["paths"][template][method.lower()]
        raise AssertionError(f"{method} {path} is not in the swagger")

    def call(self, method: str, path: str, expect: int = 200, **kwargs) -> requests.Response:
        template, operation = self.operation(method, path)
        response = self.session.request(method, self.node.url + path, timeout=5, **kwargs)
        assert response.status_code == expect, response.text
        documented = operation["responses"].get(expect) or operation["responses"].get(str(expect))
        assert documented is not None, f"{method} {template} does not document {expect}"
        assert response.headers["Content-Type"].startswith("application/json")
        body = response.json()
        if "schema" in documented:
            schema = {**documented["schema"], "definitions": self.spec["definitions"]}
            jsonschema.Draft4Validator(schema).validate(body)
        self.checked.add((method, template))
        return response


def test_the_swagger_itself_is_a_valid_swagger_2_document(swagger):
    validator = pytest.importorskip("openapi_spec_validator")
    # YAML reads status codes as integers; the validator (like JSON) wants string keys.
    validator.validate(json.loads(json.dumps(swagger)))


def test_every_listed_endpoint_answers_in_the_swagger_shape(swagger, sesam_node):
    contract = Contract(swagger, sesam_node)
    sesam_node.state.env = {"d": "x"}
    contract.call("PUT", "/config/g", params={"force": "false"}, data=json.dumps([PIPE, SYSTEM]),
                  headers={"Content-Type": "application/json"})
    contract.call("GET", "/config")
    contract.call("PUT", "/config", data=json.dumps([{"_id": "node", "type": "metadata"}]),
                  headers={"Content-Type": "application/json"})
    assert [c["_id"] for c in contract.call("GET", "/config/g").json()] == ["p1", "s1"]
    assert {c["_id"] for c in contract.call("GET", "/config-all").json()} == {"node", "p1", "s1"}
    contract.call("PUT", "/config-all", data=json.dumps(contract.call("GET", "/config-all").json()),
                  headers={"Content-Type": "application/json"})
    [pipe] = contract.call("GET", "/pipes").json()
    assert pipe["config"]["effective"]["sink"] == {"type": "dataset", "dataset": "p1"}
    assert set(contract.call("GET", "/pipes", params={"fields": "runtime"}).json()[0]) == {"_id", "runtime"}
    contract.call("POST", "/pipes", data=json.dumps([{**PIPE, "_id": "p2"}]))
    contract.call("GET", "/pipes/p1")
    contract.call("GET", "/pipes/p1/config")
    contract.call("PUT", "/pipes/p1/config", data=json.dumps({**PIPE, "comment": "x"}))
    contract.call("GET", "/pipes/p1/pump")
    assert contract.call("POST", "/pipes/p1/pump", data={"operation": "disable"}).json()["runtime"]["is-disabled"]
    contract.call("DELETE", "/pipes/p2")
    assert [s["_id"] for s in contract.call("GET", "/systems").json()] == ["s1"]
    contract.call("GET", "/env")
    contract.call("POST", "/env", data=json.dumps({"a": "1"}))
    contract.call("PATCH", "/env", data=json.dumps({"b": "2"}))
    assert contract.call("GET", "/env").json() == {"d": "x", "a": "1", "b": "2"}
    contract.call("PUT", "/env", data=json.dumps({"only": "this"}))
    contract.call("DELETE", "/env/only")
    contract.call("GET", "/health")
    sesam_node.state.healthy = False
    contract.call("GET", "/health", expect=503)
    listed = {"/config", "/config/{config-group}", "/config-all", "/pipes", "/pipes/{pipe_id}",
              "/pipes/{pipe_id}/config", "/pipes/{pipe_id}/pump", "/systems", "/env", "/health"}
    assert listed <= {template for _, template in contract.checked}


def test_jwt_is_checked(sesam_node):
    url = f"{sesam_node.url}/config/g"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": f"bearer {sesam_node.jwt}"}, timeout=5).status_code == 200
    readonly = {"Authorization": f"Bearer {sesam_node.readonly_jwt}"}
    assert requests.get(url, headers=readonly, timeout=5).status_code == 200
    assert requests.put(url, data="[]", headers=readonly, timeout=5).status_code == 403
    assert requests.get(f"{sesam_node.url}/health", timeout=5).status_code == 200


def test_validation_errors_have_the_nodes_shape(swagger, sesam_node):
    response = requests.put(f"{sesam_node.url}/config/g", data=json.dumps([{**PIPE, "source": {"type": "embeddded"}}]),
                            headers={"Authorization": f"Bearer {sesam_node.jwt}"}, timeout=5)
    assert response.status_code == 400
    [entry] = response.json()["validation_errors"]
    assert set(entry) == {"config-errors", "is-valid-config", "json-schema", "posted-config"}
    assert entry["is-valid-config"] is False
    schema = {"$ref": "#/definitions/PipeConfigError", "definitions": swagger["definitions"]}
    for error in entry["config-errors"]:
        jsonschema.Draft4Validator(schema).validate(error)
    assert entry["config-errors"][0]["elements"] == "$['source']['type']"


def test_force_applies_a_config_with_errors_as_invalid(sesam_node):
    bad = {**PIPE, "source": {"type": "embeddded"}}
    response = requests.put(f"{sesam_node.url}/config/g", params={"force": "true"}, data=json.dumps([bad]),
                            headers={"Authorization": f"Bearer {sesam_node.jwt}"}, timeout=5)
    assert response.status_code == 200
    pipe = requests.get(f"{sesam_node.url}/pipes/p1", headers={"Authorization": f"Bearer {sesam_node.jwt}"},
                        timeout=5).json()
    assert pipe["runtime"]["is-valid-config"] is False


def test_a_removed_pipe_is_removing_until_it_settles(sesam_node):
    sesam_node.state.deploy_delay = 60
    sesam_node.state.seed("g", [PIPE])
    requests.put(f"{sesam_node.url}/config/g", data="[]", headers={"Authorization": f"Bearer {sesam_node.jwt}"},
                 timeout=5)
    [pipe] = requests.get(f"{sesam_node.url}/pipes", headers={"Authorization": f"Bearer {sesam_node.jwt}"},
                          timeout=5).json()
    assert (pipe["_id"], pipe["runtime"]["state"]) == ("p1", "Removing")


# --------------------------------------------------------------------------- sesamclient, an independent client


@pytest.fixture
def connection(sesam_node):
    sesamclient = pytest.importorskip("sesamclient")
    return sesamclient.Connection(sesam_node.url, jwt_auth_token=sesam_node.jwt, timeout=10)


def test_sesamclient_uploads_reads_and_waits(connection, sesam_node):
    configs = sample_configs()
    sesam_node.state.env = {"customerp-base-url": "u", "crmoffice-base-url": "v"}
    result = connection.upload_config(configs, config_group="flow")  # multipart, as sesamclient does by default
    assert result["validation_errors"] == []
    stored = connection.get_config(config_group="flow")
    assert {c["_id"] for c in stored} == {c["_id"] for c in configs}
    pipes = connection.get_pipes()
    assert {p.id for p in pipes} == {c["_id"] for c in configs if c["type"] == "pipe"}
    for pipe in pipes:
        pipe.wait_for_pipe_to_be_deployed(timeout=10)
    assert {s.id for s in connection.get_systems()} == {"customerp", "crmoffice"}
    pipe = connection.get_pipe("global-contact")
    assert pipe.config["original"]["metadata"]["global"] is True
    pump = pipe.get_pump()
    pump.disable()
    assert pipe.get_pump().is_disabled
    assert connection.get_pipe("no-such-pipe") is None


def test_sesamclient_sees_a_rejected_upload(connection, sesam_node):
    from sesamclient.exceptions import ConfigUploadFailed

    with pytest.raises(ConfigUploadFailed) as caught:
        connection.upload_config([{**PIPE, "source": {"type": "embeddded"}}], config_group="flow")
    [entry] = caught.value.parsed_response["validation_errors"]
    assert entry["posted-config"]["_id"] == "p1"
    assert sesam_node.state.group_configs("flow") == []


def test_sesamclient_uploads_a_zip_and_raw_json(connection, sesam_node):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("pipes/p1.conf.json", json.dumps(PIPE))
        zipped.writestr("systems/s1.conf.json", json.dumps(SYSTEM))
    connection.upload_config(archive.getvalue(), config_group="zipped")
    assert {c["_id"] for c in connection.get_config(config_group="zipped")} == {"p1", "s1"}
    connection.upload_config([SYSTEM], config_group="zipped", _use_multipart_form_data=False)
    assert [c["_id"] for c in connection.get_config(config_group="zipped")] == ["s1"]


def test_a_zip_holding_invalid_json_is_a_400_like_raw_json(sesam_node):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("pipes/p1.conf.json", '{"_id": "p1",')
    headers = {"Authorization": f"Bearer {sesam_node.jwt}", "Content-Type": "application/zip"}
    answer = requests.put(f"{sesam_node.url}/config/zipped", data=archive.getvalue(), headers=headers, timeout=5)
    assert answer.status_code == 400 and "not valid JSON" in answer.text
    assert sesam_node.state.group_configs("zipped") == []


def test_sesamclient_env_and_health(connection):
    connection.put_env_vars({"a": "1"})
    connection.post_env_vars({"b": "2"})
    assert connection.get_env_vars() == {"a": "1", "b": "2"}
    assert connection.get_health() == {"status": "ok"}


def test_sesamclient_is_refused_with_a_wrong_token(sesam_node):
    sesamclient = pytest.importorskip("sesamclient")
    from sesamclient.exceptions import BadRequestException

    connection = sesamclient.Connection(sesam_node.url, jwt_auth_token="wrong", timeout=5)
    with pytest.raises(BadRequestException):
        connection.get_config(config_group="g")


# --------------------------------------------------------------------------- node metadata

METADATA = {"_id": "node", "type": "metadata", "namespaced_identifiers": True,
            "global_defaults": {"default_compaction_type": "sink"}}


def test_metadata_endpoints_answer_in_the_swagger_shape(swagger, sesam_node):
    contract = Contract(swagger, sesam_node)
    assert contract.call("GET", "/metadata").json() == []  # a node without metadata
    [stored] = contract.call("PUT", "/metadata", data=json.dumps(METADATA),
                             headers={"Content-Type": "application/json"}).json()
    assert stored["_id"] == "node"
    original = stored["config"]["original"]
    assert {k: v for k, v in original.items() if k != "$audit"} == METADATA
    assert original["$audit"]["last_modified_ts"].startswith("~t")  # as a node stores it: stripped by plan
    assert contract.call("GET", "/metadata").json() == [stored]
    assert sesam_node.state.metadata == METADATA
    assert contract.call("DELETE", "/metadata").json() == []
    assert sesam_node.state.metadata is None
    assert {("GET", "/metadata"), ("PUT", "/metadata"), ("DELETE", "/metadata")} <= contract.checked


def test_metadata_set_through_the_default_group_is_the_same_entity(swagger, sesam_node):
    contract = Contract(swagger, sesam_node)
    contract.call("PUT", "/config", data=json.dumps([METADATA]), headers={"Content-Type": "application/json"})
    [stored] = contract.call("GET", "/metadata").json()
    assert stored["config"]["original"]["namespaced_identifiers"] is True


def test_metadata_effective_config_expands_env_variables(sesam_node):
    sesam_node.state.env = {"ns": "http://example.org/"}
    headers = {"Authorization": f"Bearer {sesam_node.jwt}"}
    body = {**METADATA, "namespaces": {"default": {"ex": "$ENV(ns)"}}}
    [stored] = requests.put(f"{sesam_node.url}/metadata", data=json.dumps(body), headers=headers, timeout=5).json()
    assert stored["config"]["original"]["namespaces"]["default"]["ex"] == "$ENV(ns)"
    assert stored["config"]["effective"]["namespaces"]["default"]["ex"] == "http://example.org/"


def test_env_variables_with_non_ascii_names_are_found_and_expanded(sesam_node):
    sesam_node.state.env = {"tjenestenavn-å": "http://example.org/æ"}
    headers = {"Authorization": f"Bearer {sesam_node.jwt}"}
    body = {**METADATA, "namespaces": {"default": {"ex": "$ENV(tjenestenavn-å)"}}}
    answer = requests.put(f"{sesam_node.url}/metadata", data=json.dumps(body), headers=headers, timeout=5)
    [stored] = answer.json()
    assert stored["config"]["effective"]["namespaces"]["default"]["ex"] == "http://example.org/æ"
    assert "not defined" not in answer.text


def test_metadata_can_be_served_as_one_object_as_nodes_have_been_seen_to(sesam_node):
    sesam_node.state.metadata_shape = "object"
    headers = {"Authorization": f"Bearer {sesam_node.jwt}"}
    assert requests.get(f"{sesam_node.url}/metadata", headers=headers, timeout=5).json() == {}
    sesam_node.state.metadata = dict(METADATA)
    answer = requests.get(f"{sesam_node.url}/metadata", headers=headers, timeout=5).json()
    assert answer["_id"] == "node" and answer["config"]["original"]["type"] == "metadata"


def test_metadata_needs_a_jwt_and_a_writing_one_to_change(sesam_node):
    url = f"{sesam_node.url}/metadata"
    sesam_node.state.metadata = dict(METADATA)
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.put(url, data=json.dumps(METADATA), timeout=5).status_code == 401
    readonly = {"Authorization": f"Bearer {sesam_node.readonly_jwt}"}
    assert requests.get(url, headers=readonly, timeout=5).status_code == 200
    assert requests.put(url, data=json.dumps({**METADATA, "namespaced_identifiers": False}), headers=readonly,
                        timeout=5).status_code == 403
    assert requests.delete(url, headers=readonly, timeout=5).status_code == 403
    assert sesam_node.state.metadata == METADATA


@pytest.mark.parametrize("body, path", [
    ({"_id": "node", "type": "pipe"}, "$['type']"),
    ({"_id": "not-node", "type": "metadata"}, "$['_id']"),
    ({"type": "metadata"}, "$['_id']"),
    ([METADATA], "$"),
    ({**METADATA, "namespaced_identifiers": "yes"}, "$['namespaced_identifiers']"),
    ({**METADATA, "global_defaults": {"default_compaction_type": "never"}},
     "$['global_defaults']['default_compaction_type']"),
], ids=["wrong-type", "wrong-id", "no-id", "array", "not-boolean", "unknown-compaction"])
def test_invalid_metadata_is_refused_with_the_nodes_errors_and_changes_nothing(swagger, sesam_node, body, path):
    sesam_node.state.metadata = dict(METADATA)
    response = requests.put(f"{sesam_node.url}/metadata", data=json.dumps(body),
                            headers={"Authorization": f"Bearer {sesam_node.jwt}"}, timeout=5)
    assert response.status_code == 400
    [entry] = response.json()["validation_errors"]
    assert entry["is-valid-config"] is False and entry["posted-config"] == body
    schema = {"$ref": "#/definitions/PipeConfigError", "definitions": swagger["definitions"]}
    for error in entry["config-errors"]:
        jsonschema.Draft4Validator(schema).validate(error)
    assert path in [e["elements"] for e in entry["config-errors"]]
    assert sesam_node.state.metadata == METADATA


def test_sesamclient_reads_and_replaces_the_metadata(connection, sesam_node):
    connection.set_metadata(METADATA)
    assert sesam_node.state.metadata == METADATA
    [stored] = connection.get_metadata()
    assert stored["config"]["original"]["namespaced_identifiers"] is True
    connection.delete_metadata()
    assert connection.get_metadata() == []


def test_older_documented_forms_are_accepted(sesam_node):
    # A sink without "type" is a dataset sink (configuration-pipes.rst l.183, insert-pattern.rst l.58);
    # a "chained" transform (capture-response-with-transform-pattern.rst l.18); system:mssql-azure-dw is a
    # documented alias of system:sqlserver (configuration-systems-mssql.rst l.101).
    configs = [
        {**PIPE, "_id": "typeless", "sink": {"set_initial_offset": "onload"}},
        {**PIPE, "_id": "chained", "transform": {"type": "chained", "transforms": [
            {"type": "dtl", "rules": {"default": [["copy", "*"]]}}]}},
        {"_id": "dw", "type": "system:mssql-azure-dw", "host": "dw.example", "database": "d", "username": "u"},
    ]
    response = requests.put(f"{sesam_node.url}/config/g", data=json.dumps(configs),
                            headers={"Authorization": f"Bearer {sesam_node.jwt}"}, timeout=5)
    assert response.status_code == 200, response.text
    bad = {**PIPE, "_id": "bad-sink", "sink": {"type": "datasett"}}
    response = requests.put(f"{sesam_node.url}/config/g", data=json.dumps(configs + [bad]),
                            headers={"Authorization": f"Bearer {sesam_node.jwt}"}, timeout=5)
    assert response.status_code == 400
