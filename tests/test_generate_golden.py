"""Golden output: the committed configs are exactly what the generator renders.

To update after a reviewed change (see docs/development.md):
    pipegen generate
    pipegen generate specs/examples/erp-crm-properties.yaml -o tests/golden/erp-crm-properties
then read the diff in git before committing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.build.generate import render_specs
from generator.util import fsutil

ROOT = Path(__file__).resolve().parents[1]

CASES = {
    "default spec": (ROOT / "specs", ROOT / "output" / "customerp-crmoffice"),
    "example spec": (ROOT / "specs/examples/erp-crm-properties.yaml", ROOT / "tests/golden/erp-crm-properties"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_equals_golden(case):
    spec, golden = CASES[case]
    rendered = dict(render_specs([spec]).files)
    on_disk = fsutil.read_tree(golden)
    assert sorted(rendered) == sorted(on_disk), "files added or removed"
    for path, text in rendered.items():
        assert text == on_disk[path], f"{golden.name}/{path} differs from the golden file"
