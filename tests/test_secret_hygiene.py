"""S8: credentials written into a config are warned about, and never echoed."""

from __future__ import annotations

import pytest

from generator.cli import main

SPEC = """\
dataflow: a-b
systems:
  erp:
    base_url: {base_url}
    datatypes:
      employee: {{label: Employee, path: "{path}"}}
  crm:
{auth}    datatypes:
      contact: Contact
flows:
  - from: erp.employee
    to: crm.contact
"""
PASSWORD = "hunter2xyz"
KEY = "sk_live_0123456789"
TOKEN = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def run(tmp_path, capsys, *, base_url="https://erp.example/api/", path="employees", auth="") -> tuple[str, str]:
    spec = tmp_path / "a-b.yaml"
    spec.write_text(SPEC.format(base_url=base_url, path=path, auth=auth))
    assert main(["generate", "-q", str(spec), "-o", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "out")]) == 0
    out = capsys.readouterr()
    return out.out + out.err, "".join(p.read_text() for p in (tmp_path / "out").rglob("*.json"))


def test_password_in_the_base_url(tmp_path, capsys):
    said, _ = run(tmp_path, capsys, base_url=f"https://admin:{PASSWORD}@erp.example/api/")
    assert "systems/erp.conf.json:" in said and "$.url_pattern: warning: the URL holds a user name and password" in said
    assert PASSWORD not in said


def test_api_key_in_a_query_string(tmp_path, capsys):
    said, _ = run(tmp_path, capsys, path=f"employees?api_key={KEY}")
    assert "warning: the query parameter 'api_key' holds a literal value" in said
    assert KEY not in said


def test_token_given_as_the_secret_name(tmp_path, capsys):
    said, _ = run(tmp_path, capsys, auth=f"    auth: {{secret: {TOKEN}}}\n")
    assert "warning: a $SECRET(...) name looks like a token itself" in said
    assert TOKEN not in said


@pytest.mark.parametrize("path", ["employees?since=1", "employees?api_key=$ENV(erp-key)", "employees?token={{ t }}"])
def test_references_and_plain_parameters_pass(tmp_path, capsys, path):
    said, _ = run(tmp_path, capsys, path=path, auth="    auth: {secret: crm-api-token}\n")
    assert "warning: the" not in said and "looks like a token" not in said
