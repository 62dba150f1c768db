"""Portal-canonical JSON: the layout sesam-py's formatter and the Sesam portal write."""

from __future__ import annotations

import json

from hypothesis import given, strategies as st

from generator.util.jsonfmt import dumps

SAMPLE = {
    "transform": {"rules": {"default": [["copy", "*"], ["add", "x", ["list", 1, ["ni", "a"]]], ["comment", "ø"]],
                            "a": []}, "type": "dtl"},
    "zeta": {}, "_id": "p", "type": "pipe", "source": [{"b": 1, "a": [1, 2]}, {"c": None}], "name": "n",
    "x": [1.5, True],
}

# Reviewed by hand against sesam-py's formatter rules: conventional key order (_id, type, name, ...,
# source, ..., transform, then the rest alphabetically; "default" first among rules), objects in
# arrays not indented again, arrays of scalars inline, each nested array on its own line, closing
# bracket of an array ending in an array on its own line, non-ASCII kept, trailing newline.
EXPECTED = """\
{
  "_id": "p",
  "type": "pipe",
  "name": "n",
  "source": [{
    "a": [1, 2],
    "b": 1
  }, {
    "c": null
  }],
  "transform": {
    "type": "dtl",
    "rules": {
      "default": [
        ["copy", "*"],
        ["add", "x",
          ["list", 1,
            ["ni", "a"]
          ]
        ],
        ["comment", "ø"]
      ],
      "a": []
    }
  },
  "x": [1.5, true],
  "zeta": {}
}
"""


def test_layout_of_a_pipe():
    assert dumps(SAMPLE) == EXPECTED


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_round_trips_and_is_stable(value):
    text = dumps(value)
    assert json.loads(text) == value
    assert dumps(json.loads(text)) == text
    assert text.endswith("\n") and not text.endswith("\n\n")
