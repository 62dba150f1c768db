"""Render a plan into the files of a Sesam node config folder.

Stage 3 of the pipeline. Jinja2 templates in ``templates/`` give each system
and pipe its shape; the DTL inside comes from ``generator.build.rules``. Every
rendered text is parsed back and serialized with ``jsonfmt`` so that output
is portal-canonical and byte-stable whatever the templates' whitespace.
"""

from __future__ import annotations

import json
import traceback
from importlib import resources
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import jinja2

from generator.build import rules as dtl
from generator.build.plan import SyncPlan, Target, build_plan
from generator.errors import Location, Problem, UserError
from generator.spec.additions import target_additions
from generator.spec.model import NodeConfig, Ref, subset_text
from generator.util import jsonfmt
from generator.util.envref import ENV_REF
from generator.util.gcpause import no_gc

def _template_dir() -> Path:
    """The templates: shipped inside the package as ``generator/templates`` (wheel, ``pip install .``).

    In a checkout (run from source, or an editable install) they are
    ``templates/`` at the repository root, beside the package.
    """
    shipped = resources.files("generator") / "templates"
    if shipped.is_dir():
        return Path(str(shipped))
    return Path(__file__).resolve().parents[2] / "templates"


TEMPLATE_DIR = _template_dir()


@dataclass(frozen=True)
class Rendered:
    """A node config in memory: relative path -> canonical JSON text."""

    name: str
    files: Mapping[str, str]
    warnings: tuple[Problem, ...]


def template_env(template_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        auto_reload=False,  # a template is read once per run: no stat of its file for each of thousands of renders
    )
    return env


class _Slots:
    """``tojson`` for templates: scalars inline, structures through a placeholder.

    Rules can be megabytes of DTL; serializing them into the template text only
    to parse them back is most of the render time. A structure is instead
    written as a placeholder string and put back after the skeleton is parsed.
    """

    PREFIX = "\u0000pipegen-slot:"

    def __init__(self) -> None:
        self.values: list[Any] = []

    def tojson(self, value: Any) -> str:
        # Touching an undefined value raises the template error that names the line.
        if isinstance(value, jinja2.Undefined):
            str(value)
        if isinstance(value, (dict, list)):
            self.values.append(value)
            return json.dumps(f"{self.PREFIX}{len(self.values) - 1}")
        return json.dumps(value, ensure_ascii=False)

    def fill(self, skeleton: Any) -> Any:
        if isinstance(skeleton, str) and skeleton.startswith(self.PREFIX):
            return self.values[int(skeleton[len(self.PREFIX):])]
        if isinstance(skeleton, dict):
            return {k: self.fill(v) for k, v in skeleton.items()}
        if isinstance(skeleton, list):
            return [self.fill(v) for v in skeleton]
        return skeleton


def render_config(config: NodeConfig, template_dir: Path | None = None) -> Rendered:
    with no_gc():
        return _render_config(config, template_dir)


def _render_config(config: NodeConfig, template_dir: Path | None) -> Rendered:
    plan = build_plan(config)
    template_dir = template_dir or TEMPLATE_DIR
    renderer = _Renderer(template_env(template_dir))
    objects = list(_systems(plan, renderer)) + list(_pipes(plan, renderer))
    files = {f"{kind}/{obj['_id']}.conf.json": jsonfmt.dumps(obj) for kind, obj in objects}
    files["node-metadata.conf.json"] = jsonfmt.dumps(renderer.render("node-metadata.json.j2"))
    files["variables.json"] = jsonfmt.dumps({name: "" for name in env_variables(files.values())})
    return Rendered(config.name, dict(sorted(files.items())), plan.warnings)


def env_variables(texts: Iterable[str]) -> list[str]:
    return sorted({m for text in texts for m in ENV_REF.findall(text)})


class _Renderer:
    def __init__(self, env: jinja2.Environment):
        self.env = env

    def render(self, name: str, **context: Any) -> dict:
        """Render one template to a JSON object; template problems name template and line."""
        slots = _Slots()
        # Each render gets its own slots: the filter is swapped per call (renders never overlap).
        self.env.filters["tojson"] = slots.tojson
        try:
            text = self.env.get_template(name).render(**context)
        except jinja2.TemplateSyntaxError as err:
            raise self._error(name, err.lineno, f"template syntax error: {err.message}") from None
        except jinja2.TemplateNotFound:
            raise self._error(name, 0, "template not found") from None
        except jinja2.TemplateError as err:
            raise self._error(name, _template_line(err, name), f"template error: {err}") from None
        try:
            return slots.fill(json.loads(text))
        except json.JSONDecodeError as err:
            raise self._error(name, 0, f"template rendered invalid JSON (output line {err.lineno}, "
                                       f"column {err.colno}): {err.msg}") from None

    def _error(self, name: str, line: int, message: str) -> UserError:
        file = str(Path("templates") / name)
        return UserError([Problem(Location(file, line, 0), "", message)])


def _template_line(err: Exception, name: str) -> int:
    # Jinja rewrites tracebacks so that template frames carry the template's file and line.
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if frame.filename.replace("\\", "/").endswith(name):
            return frame.lineno or 0
    return 0


def _deleting(plan: SyncPlan) -> set:
    """The datatypes whose deletes a flow propagates: they are rescanned and their deletes verified."""
    return {d for t in plan.targets for d in t.deleters}


def _systems(plan: SyncPlan, r: _Renderer) -> Iterator[tuple[str, dict]]:
    used: dict[str, list] = {}
    for ref in plan.participants:
        used.setdefault(ref.system, []).append(plan.config.datatype(ref))
    deleting = _deleting(plan)
    for sid, datatypes in sorted(used.items()):
        system = plan.config.systems[sid]
        yield "systems", r.render("systems/rest.json.j2", system=system, datatypes=datatypes,
                                  verified={dt.id for dt in datatypes if Ref(sid, dt.id) in deleting})


def _pipes(plan: SyncPlan, r: _Renderer) -> Iterator[tuple[str, dict]]:
    config = plan.config
    deleting = _deleting(plan)
    clocks = {m.ref: g.clock for g in plan.groups for m in g.members if not m.split}
    targets = {t.ref: t for t in plan.targets}
    for ref in plan.participants:
        ctx = _ctx(config, ref)
        dt = ctx["dt"]
        synced = plan.synced.get(ref, ())
        references = plan.references.get(ref, {})
        yield "pipes", r.render("pipes/all.json.j2", rescan=ref in deleting, **ctx)
        yield "pipes", r.render("pipes/collect.json.j2", rules=dtl.collect_rules(dt), verify_deletes=ref in deleting,
                                **ctx)
        rules = dtl.enrich_rules(ref, dt, plan.merge_keys.get(ref, ()), synced, clocks[ref], references,
                                 targets.get(ref))
        yield "pipes", r.render("pipes/enrich.json.j2", own_hops=bool(synced), desired=dtl.reads_desired(rules),
                                rules=rules, **ctx)
    for split in plan.splits:
        yield "pipes", r.render("pipes/split.json.j2", concept=split.concept, rules=dtl.split_rules(split),
                                origins=", ".join(f"{o} in its {plan.concepts[split.ref]} subset"
                                                  for o, _ in split.origins),
                                subset_text=subset_text(split.subset or ()), **_ctx(config, split.ref))
    for group in plan.groups:
        datasets = [f"{m.dataset(group.name)} {dtl.alias(m)}" for m in group.members]
        yield "pipes", r.render("pipes/global.json.j2", group=group, datasets=datasets,
                                labels=[str(m.ref) for m in group.members if not m.split],
                                equality_sets=dtl.equality_sets(group.members, group.equality),
                                rules=dtl.global_rules(group))
    # The datasets each concept's global merges: a transform waits until each has completeness.
    inputs = {group.name: [m.dataset(group.name) for m in group.members] for group in plan.groups}
    for target in plan.targets:
        ctx = _ctx(config, target.ref)
        yield "pipes", r.render("pipes/transform.json.j2", group=target.group,
                                waits_for=inputs[target.group],
                                rules=dtl.transform_rules(target), create_note=_create_note(target),
                                additions=target_additions(config, target.ref), **ctx)
        yield "pipes", r.render("pipes/share.json.j2", rules=dtl.share_rules(target), **ctx)


def _ctx(config: NodeConfig, ref: Ref) -> dict:
    return {"key": ref.key, "system": config.systems[ref.system], "dt": config.datatype(ref)}


def _create_note(target: Target) -> str:
    if not target.writes:
        return "no flow writes here (the datatype only links), so it holds no entity"
    if not target.creators:
        return "updates linked entities only (no flow may create here)"
    return "creates from " + ", ".join(str(c) for c in target.creators) + "; updates linked entities"
