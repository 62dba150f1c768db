"""`pipegen validate` on node folders written the way real teams keep them.

Each folder under ``fixtures/validate/forms/`` holds one form that the Sesam reference
allows (or, where it is silent, that running nodes accept) and that validate used to
report as an error: variables kept in sesam-py profiles or Sesam-Deployer files,
``$SECRET`` keys of the encryption functions, a documented system alias, a feedback
loop through a merge, non-string ``docker.environment`` values, a self-join in
``hops`` and older config forms. Two more folders hold what the node really refuses
or mishandles: hops into a pipe's own sink, and REST transforms that insert.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.validation.api import VariableOptions, validate_folder

FORMS = Path(__file__).parent / "fixtures" / "validate" / "forms"


def problems(folder: str, variables: VariableOptions = VariableOptions()) -> list[tuple[str, str, str, str]]:
    """(file, JSON path, level, message) of every problem, the message cut at its first ';'."""
    return [(p.location.file, p.path, p.level, p.message.split(";")[0])
            for p in validate_folder(FORMS / folder, root_label="", variables=variables)]


@pytest.mark.parametrize("folder", ["encryption-secret", "system-alias", "merge-cycle", "docker-environment",
                                    "hops-self-join"])
def test_documented_forms_validate_without_any_problem(folder):
    assert problems(folder) == []


def test_older_forms_are_warnings_where_the_reference_is_silent():
    assert problems("older-forms") == [
        ("pipes/erp-customer.conf.json", "$.batch_size", "warning",
         "a transit-encoded decimal where the reference documents a number: an older form it is silent about"),
        ("pipes/merged-customer.conf.json", "$.source", "warning",
         'merge source version 1 is deprecated (and the default)'),
        ("pipes/merged-customer.conf.json", "$.transform.transforms[0].rules.default", "warning",
         'a rule is a list of transform functions'),
    ]


def test_variables_come_from_the_default_profile_then_variables_json():
    # test-env.json (with a byte-order mark, as sesam-py writes it) says node-env is "test", so the
    # conditional source's "prod" alternative is inactive; erp-tenant is empty in both files.
    assert problems("variables") == [
        ("pipes/orders.conf.json", "$.source.alternatives.prod.dataset", "warning",
         "dataset 'erp-orders' is read but no pipe in this folder writes it (did you mean \"orders\"?)"),
        ("systems/erp.conf.json", '$.headers["X-Tenant"]', "warning",
         "$ENV variables given no value by test-env.json or variables.json: erp-tenant"),
        ("variables.json", "$.spare", "warning", "variable 'spare' is not used by any config"),
    ]


def test_another_profile_selects_other_values():
    # prod-env.json: node-env "prod" makes the dataset alternative active, and gives erp-tenant.
    assert problems("variables", VariableOptions(profile="prod")) == [
        ("pipes/orders.conf.json", "$.source.alternatives.prod.dataset", "error",
         "dataset 'erp-orders' is read but no pipe in this folder writes it (did you mean \"orders\"?)"),
        ("variables.json", "$.spare", "warning", "variable 'spare' is not used by any config"),
    ]


def test_an_explicit_variables_file_wins_over_the_profile(tmp_path):
    staging = FORMS / "variables" / "deploy" / "variables" / "staging.json"
    assert problems("variables", VariableOptions(file=staging))[0][2] == "error"  # node-env "prod" from the file
    missing = tmp_path / "empty.json"
    missing.write_text('{"node-env": "test"}')
    assert problems("variables", VariableOptions(file=missing))[0][2] == "warning"


def test_a_missing_value_is_one_warning_naming_every_variable(tmp_path):
    folder = tmp_path / "node"
    shutil.copytree(FORMS / "variables", folder)
    for name in ("variables.json", "test-env.json", "prod-env.json"):
        (folder / name).unlink()
    found = [p for p in validate_folder(folder, root_label="") if "$ENV" in p.message]
    assert [(p.level, p.message.split(";")[0]) for p in found] == [
        ("warning", "$ENV variables with no value (no variables.json, <profile>-env.json or --variables file): "
                    "erp-base-url, erp-path, erp-tenant, node-env")]


def test_cli_profile_and_variables_options(capsys):
    folder = str(FORMS / "variables")
    assert main(["validate", folder]) == 0
    assert main(["validate", folder, "--profile", "prod"]) == 1
    assert main(["validate", folder, "--variables", str(FORMS / "variables" / "deploy" / "variables" / "staging.json")]) == 1
    capsys.readouterr()
    assert main(["validate", folder, "--variables", str(FORMS / "variables" / "nothere.json")]) == 1
    assert "no such variables file" in capsys.readouterr().err
    assert main(["validate", folder, "--profile", "staging"]) == 1
    assert "staging-env.json" in capsys.readouterr().err and main(["validate", folder, "--profile", "test"]) == 0


def test_hops_into_the_own_sink_need_onload():
    assert problems("own-sink") == [
        ("pipes/contact-first-seen.conf.json", '$.sink["set-initial-offset"]', "warning",
         "the node ignores 'set-initial-offset': the Sesam reference names this property 'set_initial_offset'"),
        ("pipes/contact-first-seen.conf.json", "$.transform.rules.default[1][2][1][1].datasets[0]", "error",
         "hops to the pipe's own sink dataset 'contact-first-seen', but the sink lacks \"set_initial_offset\": "
         "\"onload\" ('set-initial-offset' is not read by the node)"),
        ("pipes/contact-previous.conf.json", "$.transform.rules.default[1][2][1]", "error",
         "lookup-entity reads the pipe's own sink dataset 'contact-previous', but the sink lacks "
         "\"set_initial_offset\": \"onload\""),
        ("pipes/contact-previous.conf.json", "$.transform.rules.default[1][2][1]", "warning",
         "lookup-entity reads the pipe's own sink dataset 'contact-previous' without \"batch_size\": 1, so it misses "
         "what it has just written"),
    ]


def test_own_sink_errors_quote_the_reference():
    errors = [p for p in validate_folder(FORMS / "own-sink", root_label="") if p.level == "error"]
    assert errors and all("dtl-functions-hops.rst l.114" in p.message for p in errors)


def test_rest_inserts_want_batch_size_1_and_no_deleted_entities():
    assert problems("rest-insert") == [
        ("pipes/crm-contact-share.conf.json", "$.transform[1]", "warning",
         "this REST transform can insert or delete, and no earlier rule looks at \"_deleted\" (discard such "
         "entities, e.g. [\"filter\", [\"neq\", \"_S._deleted\", true]]), so a deleted source entity becomes a call "
         "to the system"),
        ("pipes/crm-contact-share.conf.json", "$.transform[1]", "warning",
         "this REST transform inserts (a POST operation) but the pipe has no \"batch_size\": 1, so a failed batch "
         "repeats its inserts"),
    ]


def test_fixture_variables_files_carry_a_byte_order_mark():
    # The point of the variables fixture: sesam-py writes env files with a BOM, which plain json rejects.
    raw = (FORMS / "variables" / "test-env.json").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw.decode("utf-8"))


# ---------------------------------------------------------------------------------------
# public node folders, kept as their repositories hold them (../shared/reference)

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
REAL_FOLDERS = ["node-tests/sesam-io+tutorial", "node-tests/sesam-io+tutorial__globals",
                "node-tests/haakonbull+sesam-dev", "node-tests/sesam-community+sesam-py__fair_weather",
                "node-tests/sesam-community+sesam-py__embedded_before",
                "sesam-connectors/sesam-community+training-connector",
                "sesam-connectors/sesam-io+hubspot-connector__expanded",
                "sesam-connectors/sesam-io+tripletex-connector__expanded"]


@pytest.mark.parametrize("name", REAL_FOLDERS)
def test_public_node_folders_validate_without_errors(name):
    folder = REFERENCE / name
    if not folder.is_dir():
        pytest.skip(f"{name} is not beside the project")
    found = validate_folder(folder, root_label=name)
    assert [f"{p.location.file}:{p.location.line}: {p.path}: {p.message}" for p in found if p.level == "error"] == []
    assert not [p for p in found if "$ENV(" in p.message and "is not listed" in p.message]


def test_the_hubspot_connector_names_its_misspelt_sink_property():
    folder = REFERENCE / "sesam-connectors" / "sesam-io+hubspot-connector__expanded"
    if not folder.is_dir():
        pytest.skip("the hubspot connector folder is not beside the project")
    misspelt = [p for p in validate_folder(folder, root_label="") if "set-initial-offset" in p.path]
    assert len(misspelt) == 26 and {p.level for p in misspelt} == {"warning"}
    assert all("'set_initial_offset'" in p.message for p in misspelt)


@pytest.mark.parametrize("name", REAL_FOLDERS)
def test_public_node_folders_deploy_and_then_plan_no_change(name, tmp_path, sesam_node, capsys, monkeypatch):
    from tests.support.node_helpers import fast_retries, use_node

    source = REFERENCE / name
    if not source.is_dir():
        pytest.skip(f"{name} is not beside the project")
    folder = tmp_path / "output" / "real"
    shutil.copytree(source, folder)
    use_node(monkeypatch, sesam_node, tmp_path)
    fast_retries(monkeypatch)
    assert main(["deploy", str(folder), "--yes"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["plan", str(folder)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Plan: 0 to add, 0 to change, 0 to remove."


def test_a_broken_variables_file_is_reported_once_for_a_folder_of_folders(tmp_path, capsys):
    for name in ("system-alias", "hops-self-join"):
        shutil.copytree(FORMS / name, tmp_path / "nodes" / name)
    broken = tmp_path / "vars.json"
    broken.write_text('{"a": 1,}')
    assert main(["validate", str(tmp_path / "nodes"), "--variables", str(broken)]) == 1
    assert capsys.readouterr().out == f"{broken}:1:9: $: error: invalid JSON: Expecting property name enclosed in double quotes\n"
