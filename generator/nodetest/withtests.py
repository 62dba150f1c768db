"""``pipegen generate --with-tests``: the generated config carries sesam-py tests.

What is added, so that ``sesam test`` on a dev node (``node-env: test``) checks that the node
agrees with pipegen, and ``pipegen test`` checks the same offline:

* every REST component becomes ``conditional`` on ``$ENV(node-env)``
  (configuration-sources-conditional.rst, -transforms-conditional.rst, -sinks-conditional.rst):
  ``prod`` keeps it; under ``test`` a REST source becomes an ``http_endpoint`` source fed from
  ``testdata/<pipe>.json`` (configuration-sources-http.rst:7-8), a REST transform a DTL stand-in
  that calls nothing and answers 200 with ``{"id": "test-<_id>"}``, a ``transform-share-rest`` template a
  DTL stand-in that writes the share row it would (a test ``$generated_id`` for an insert), a REST sink a ``null`` sink
  (configuration-sinks-null.rst) - so under test the share pipes call nothing real;
* a test-only endpoint pipe ``<dataset>-test`` on each ``-transform`` dataset (the desired state),
  with ``expected/<pipe>.test.json``;
* ``testdata/`` from a scenario's run of the simulator (the entities its ``-all`` pipes read);
* ``expected/`` from the simulation of the result, written as ``sesam update`` writes them;
* ``test-env.json`` with ``node-env: test`` and a value for every other variable.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

from generator.errors import Location, Problem, fail
from generator.util import jsonfmt

TEST_SUFFIX = "-test"
CONDITION = "$ENV(node-env)"
TEST_MARK = "Test-only (pipegen generate --with-tests): "


def add_tests(files: Mapping[str, str], testdata: Mapping[str, list[dict]]) -> dict[str, str]:
    """The node config with its tests: REST made conditional, test pipes, testdata, env and expected/."""
    from generator.build.render import env_variables

    out = dict(files)
    rest_sources: list[str] = []
    for path, text in sorted(files.items()):
        if not path.startswith("pipes/"):
            continue
        pipe = json.loads(text)
        changed, reads_rest = _test_mode(pipe)
        if changed:
            out[path] = jsonfmt.dumps(pipe)
        if reads_rest:
            rest_sources.append(pipe["_id"])
        if pipe["_id"].endswith("-transform"):
            tp = _endpoint_pipe(pipe)
            out[f"pipes/{tp['_id']}.conf.json"] = jsonfmt.dumps(tp)
            out[f"expected/{tp['_id']}.test.json"] = "{}\n"
    for pid in sorted(rest_sources):
        out[f"testdata/{pid}.json"] = jsonfmt.dumps(testdata.get(pid, []))
    for pid in sorted(_rest_sink_pipes(out)):
        out[f"expected/{pid}.test.json"] = "{}\n"
    variables = env_variables(t for p, t in out.items() if p.startswith(("pipes/", "systems/")))
    out["variables.json"] = jsonfmt.dumps({name: "" for name in variables})
    out["test-env.json"] = jsonfmt.dumps({**{name: f"test-{name}" for name in variables}, "node-env": "test"})
    return _with_expected(out)


def _conditional(prod: dict, test: dict) -> dict:
    return {"type": "conditional", "condition": CONDITION, "alternatives": {"prod": prod, "test": test}}


def _test_mode(pipe: dict) -> tuple[bool, bool]:
    changed = reads_rest = False
    source = pipe.get("source") or {}
    if source.get("type") == "rest":
        pipe["source"] = _conditional(source, {"type": "http_endpoint"})
        changed = reads_rest = True
    transforms = pipe.get("transform")
    if transforms is not None:
        listed = transforms if isinstance(transforms, list) else [transforms]
        new = [_conditional(t, stand_in) if (stand_in := _stand_in(t)) is not None else t for t in listed]
        if new != listed:
            pipe["transform"] = new if isinstance(transforms, list) else new[0]
            changed = True
    sink = pipe.get("sink") or {}
    if sink.get("type") == "rest":
        pipe["sink"] = _conditional(sink, {"type": "null"})
        changed = True
    return changed, reads_rest


def _stand_in(transform: Any) -> dict | None:
    """The test alternative of a transform that calls a system; None for one that calls nothing."""
    if not isinstance(transform, dict):
        return None
    if transform.get("type") == "rest":
        return _rest_stand_in(transform)
    if transform.get("type") == "template":
        raw = transform.get("properties")
        props = raw if isinstance(raw, dict) else {}
        if transform.get("template") == "transform-share-rest":
            return _share_stand_in(props)
        if props.get("operation_lookup") or props.get("operation_lookup_delete"):
            # transform-collect-rest looks entities up only with these (configuration-transforms-template.rst l.111-139)
            return {"type": "dtl", "rules": {"default": [["copy", "*"]]}}
    return None


def _share_stand_in(props: dict) -> dict:
    """transform-share-rest without requests: the share row it would write (connector-contract.rst
    l.107, ``$origin`` passed through), and a test id as ``$generated_id`` where it would insert."""
    pk = props.get("primary_key", "id")
    keys = [pk] if isinstance(pk, str) else [k for k in pk if isinstance(k, str)] if isinstance(pk, list) else []
    rules: list[Any] = [["copy", ["list", "_id", "$ids", "$origin", *keys]]]
    if keys:
        rules.append(["if", ["is-null", f"_S.{keys[0]}"], ["add", "$generated_id", ["concat", "test-", "_S._id"]]])
    return {"type": "dtl", "rules": {"default": rules}}


def _rest_stand_in(rest: dict) -> dict:
    """A DTL transform in place of a REST transform: no request; the response a created entity gets."""
    rules: list[Any] = [["copy", "*"],
                        ["add", rest.get("response_property", "response"), ["dict", "id", ["concat", "test-", "_S._id"]]]]
    if rest.get("response_status_property"):
        rules.append(["add", rest["response_status_property"], 200])
    return {"type": "dtl", "rules": {"default": rules}}


def _endpoint_pipe(transform_pipe: dict) -> dict:
    dataset = (transform_pipe.get("sink") or {}).get("dataset", transform_pipe["_id"])
    return {"_id": f"{dataset}{TEST_SUFFIX}", "type": "pipe",
            "description": f"{TEST_MARK}the desired state in {dataset}, published for sesam test",
            "source": {"type": "dataset", "dataset": dataset},
            "sink": {"type": "http_endpoint"},
            "remove_namespaces": False}


def _rest_sink_pipes(files: Mapping[str, str]) -> list[str]:
    out = []
    for path, text in files.items():
        if path.startswith("pipes/"):
            pipe = json.loads(text)
            sink = pipe.get("sink") or {}
            if sink.get("type") == "conditional" and (sink.get("alternatives") or {}).get("test") == {"type": "null"}:
                out.append(pipe["_id"])
    return out


def _with_expected(files: dict[str, str]) -> dict[str, str]:
    """Run the tests in update mode on a scratch copy and keep the expected files it writes."""
    from generator.nodetest.run import Options, test_folder

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
        result = test_folder(root, Options(update=True))
        if result.errors:
            raise fail("--with-tests", "the generated config's tests do not run on the simulator: "
                       + "; ".join(result.errors))
        out = dict(files)
        for f in sorted((root / "expected").glob("*.json")):
            out[f"expected/{f.name}"] = f.read_text(encoding="utf-8")
    return out


def no_testdata_warning(spec_paths: Sequence[Path]) -> Problem:
    where = str(spec_paths[0]) if spec_paths else "specs"
    return Problem(Location(where), "", "--with-tests found no scenario for these specs "
                                        "(give --test-scenario): testdata/ is empty, so the tests compare no entities",
                   level="warning")


def scenario_testdata(spec_paths: Sequence[Path], scenario: Path | None) -> dict[str, list[dict]]:
    """What each REST-reading pipe read in a scenario's run: its dataset's live entities, as JSON."""
    from generator.simulate.scenario import Simulation, load_scenario, run_scenario
    from generator.simulate.session import default_scenarios
    from generator.simulate.values import encode

    files = [scenario] if scenario else default_scenarios(list(spec_paths))
    if not files:
        return {}
    sc = load_scenario(files[0])
    with Simulation.from_specs(list(spec_paths) or list(sc.specs)) as sim:
        run_scenario(sc, sim)
        out = {}
        for pid, pipe in sim.node.pipes.items():
            if (pipe.get("source") or {}).get("type") == "rest":
                rows = [{k: v for k, v in e.items() if not k.startswith("_") or k == "_id"}
                        for e in sorted(sim.node.store.live(pid), key=lambda e: e["_id"])]
                out[pid] = encode(rows)
    return _fixed_times(out)


_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _fixed_times(data: dict) -> dict:
    """The test systems stamp writes with the wall clock; the stamps are replaced by a fixed
    sequence in the same order, so ``generate --with-tests`` writes the same files every time."""
    from generator.simulate.values import map_strings

    stamps: set[str] = set()
    map_strings(data, lambda text: stamps.add(text) if _STAMP.match(text) else None)
    base = _dt.datetime(2000, 1, 1, tzinfo=_dt.timezone.utc)
    fixed = {s: (base + _dt.timedelta(seconds=i + 1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
             for i, s in enumerate(sorted(stamps))}
    return map_strings(data, lambda text: fixed.get(text, text))
