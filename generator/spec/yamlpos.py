"""YAML loading that remembers where every value came from.

Plain Python data is built straight from the parser's events (one pass, no
node tree), and alongside it a map from key path to position, so that every
later problem can point at ``FILE:LINE:COL``. The bounds are kept while
reading: nesting deeper than ``MAX_DEPTH`` and aliases that would stand for
more than ``MAX_ALIAS_EXPANSION`` values are refused when they are met, before
anything they stand for is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import ScalarNode

from generator.errors import Location, Problem, UserError

KeyPath = tuple  # of str | int
# libyaml's parser, events and marks: their attributes differ per kind of event, so they stay untyped.
_Parser = Any
_Event = Any
_Mark = Any

# libyaml's parser is several times faster; positions are the same.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"

# Far beyond any spec or scenario (they nest about ten levels), well within the
# recursion of the schema check and of every later stage.
MAX_DEPTH = 100
# Values that aliases may add beyond the document's own: merge keys of shared
# defaults need a few thousand; an alias bomb needs billions.
MAX_ALIAS_EXPANSION = 1_000_000


@dataclass(frozen=True)
class Positioned:
    """Parsed YAML data plus the position of each value, keyed by path.

    ``aliases`` maps the path of a value that a YAML alias put there to the
    path of the anchored original, whose positions stand for the copy's.
    """

    data: Any
    positions: dict[KeyPath, tuple[int, int]]
    file: str
    aliases: dict[KeyPath, KeyPath] = field(default_factory=dict)

    def location(self, path: KeyPath) -> Location:
        pos = self.positions.get(path) if type(path) is tuple else None
        if pos is None:
            pos = self._position(tuple(path))
        return Location(self.file, *pos) if pos else Location(self.file, 1, 1)

    def _position(self, path: KeyPath, floor: int = 0) -> tuple[int, int] | None:
        # The nearest enclosing value that has a position; inside an alias, the original's.
        for end in range(len(path), floor - 1, -1):
            prefix = path[:end]
            pos = self.positions.get(prefix)
            if pos is None:
                continue
            anchor = self.aliases.get(prefix) if end < len(path) else None
            if anchor is not None:
                return self._position(anchor + path[end:], len(anchor) + 1) or pos
            return pos
        return None


def dotted(path: KeyPath) -> str:
    """``("flows", 2, "to")`` -> ``flows[2].to``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load(text: str, file: str) -> Positioned:
    """Parse one YAML document; syntax errors become a ``UserError`` with position.

    Input is bounded as it is read: nesting deeper than ``MAX_DEPTH`` is
    refused (so is an alias that would nest its value deeper), and so are
    aliases that would expand to more than ``MAX_ALIAS_EXPANSION`` values (a
    few hundred bytes of nested aliases can otherwise stand for billions of
    values). Every place an alias stands gets its own copy of the value, as
    if it had been written out.
    """
    try:
        return _Builder(file).run(_LOADER(text))
    except (yaml.YAMLError, _Invalid):
        pass
    # libyaml refused it: read it with PyYAML's own parser, whose events the builder bounds as it
    # goes. libyaml's scanner has limits of its own (newer ones refuse 1,000 nested flow levels while
    # looking ahead), so its refusal may come before the builder sees the 101st level.
    try:
        return _Builder(file).run(yaml.SafeLoader(text))
    except (yaml.YAMLError, _Invalid):
        pass
    # Report with the pure-Python parser and composer: their messages are clearer than
    # libyaml's and the same on every platform.
    _compose_for_error(text, file)
    raise UserError([Problem(Location(file, 1, 1), "", "invalid YAML")])


class _Invalid(Exception):
    """What PyYAML's composer refuses (an undefined or repeated anchor, a second document):
    reported with the composer's own message."""


@dataclass
class _Anchor:
    path: KeyPath
    mark: Any  # where the anchored value starts
    start: int  # values read before it
    value: Any = None
    size: int = 0  # values it stands for, its aliases expanded; 0 while it is still open
    height: int = 0  # levels of nesting it holds (a scalar: 0)
    collection: bool = False


# What a mapping frame expects next, besides the key of its next value.
_KEY = object()  # a key
_SKIP = object()  # the value of a refused key: not read
_MERGE = object()  # the value of a merge key ('<<')
_MERGE_KEY = object()  # a plain '<<' as read: a merge key, not a value

# How a collection hands its value to its parent.
_ROOT, _VALUE, _KEY_SKIP, _MUTED, _SOURCE, _SOURCES = range(6)
_MERGE_MESSAGE = "a merge key ('<<') takes a mapping or a list of mappings"


class _Frame:
    """An open mapping or sequence."""

    __slots__ = ("is_map", "value", "path", "role", "key", "key_mark", "merged", "target", "height", "anchor")

    def __init__(self, is_map: bool, path: KeyPath, role: int, target: _Frame | None, anchor: _Anchor | None):
        self.is_map = is_map
        self.value: Any = {} if is_map else []
        self.path = path
        self.role = role
        self.key: Any = _KEY
        self.key_mark = None
        self.merged: dict | None = None  # what merge keys brought in (the mapping's own keys win)
        self.target = target  # a merge source's or merge list's mapping
        self.height = 1
        self.anchor = anchor


class _Builder:
    """Plain data and positions from one document's events.

    Positions follow the rule of a tree walk: a scalar is pointed at by
    itself, a mapping or list under a key by its key, any other by its start.
    """

    def __init__(self, file: str):
        self.file = file
        self.positions: dict[KeyPath, tuple[int, int]] = {}
        self.aliases: dict[KeyPath, KeyPath] = {}
        self.problems: list[Problem] = []
        self.anchors: dict[str, _Anchor] = {}
        self.count = 0  # values read so far, aliases expanded
        self.expansion = 0  # of which aliases added
        self.first_alias = None
        self.shared = False  # an alias put one list or mapping in two places
        self.cache: dict[str, Any] = {}  # plain scalar text -> value (most keys and values repeat)
        self.resolver = yaml.resolver.Resolver()
        self.constructor = yaml.SafeLoader("")  # turns tagged scalars into Python values

    def run(self, parser: _Parser) -> Positioned:
        self.parser = parser
        self.stack: list[_Frame] = []
        try:
            root = self._events(parser)
        except _Invalid:
            self._drain()  # nesting too deep further on is reported first, as PyYAML's composer would recurse on it
            raise
        finally:
            parser.dispose()
        if self.problems:
            raise UserError(self.problems)
        if self.shared:
            root = _unshare(root, set())
        return Positioned(root, self.positions, self.file, self.aliases)

    def _events(self, parser: _Parser) -> Any:
        get_event = parser.get_event
        stack = self.stack
        positions, cache = self.positions, self.cache
        root, documents = None, 0
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        opening = {yaml.MappingStartEvent: True, yaml.SequenceStartEvent: False}
        closing = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
        while (event := get_event()) is not None:
            kind = type(event)
            if kind is scalar_event:
                self.count += 1
                top = stack[-1] if stack else None
                # The common cases inline (this loop sees every value of every spec): an untagged
                # key or value in a mapping that is read as written, its value cached by its text.
                if top is None:
                    root = self._scalar(event, ())
                    positions[()] = (event.start_mark.line + 1, event.start_mark.column + 1)
                    continue
                if not top.is_map or event.anchor is not None or event.tag is not None:
                    self._other_scalar(event, top)
                    continue
                key = top.key
                if key is _KEY:
                    key = cache.get(event.value, _SKIP) if event.implicit[0] else event.value
                    if key.__class__ is str and key not in top.value and top.role < _KEY_SKIP:
                        top.key, top.key_mark = key, event.start_mark
                    else:
                        self._other_scalar(event, top)
                elif key is _SKIP or key is _MERGE:
                    self._other_scalar(event, top)
                else:
                    path = top.path + (key,)
                    mark = event.start_mark
                    positions[path] = (mark.line + 1, mark.column + 1)
                    value = cache.get(event.value, _SKIP) if event.implicit[0] else event.value
                    top.value[key] = self._scalar(event, path) if value is _SKIP or value is _MERGE_KEY else value
                    top.key = _KEY
            elif kind in opening:
                self._open(event, opening[kind], stack)
            elif kind in closing:
                value = self._close(stack.pop(), stack)
                if not stack:
                    root = value
            elif kind is alias_event:
                self._alias(event, stack)
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _Invalid("expected a single document in the stream")
        return root

    # --- scalars ---------------------------------------------------------------

    def _scalar(self, event: _Event, path: KeyPath) -> Any:
        value = self._read(event, path)
        if value is _MERGE_KEY:
            self._problem(event.start_mark, path, f"unsupported YAML tag {_MERGE_TAG!r}")
            return None
        return value

    def _read(self, event: _Event, path: KeyPath) -> Any:
        """The value of a scalar; ``_MERGE_KEY`` for a merge key ('<<'), None when its tag is refused."""
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:  # quoted, or a block scalar: a string
                return event.value
            value = self.cache.get(event.value, _SKIP)
            if value is not _SKIP:
                return value
            value = self._construct(event, self.resolver.resolve(ScalarNode, event.value, event.implicit), path)
            if value is not _SKIP:
                self.cache[event.value] = value
        else:
            value = self._construct(event, tag, path)
        return None if value is _SKIP else value

    def _construct(self, event: _Event, tag: str, path: KeyPath) -> Any:
        """The value of a scalar of ``tag``; ``_MERGE_KEY`` for '<<', ``_SKIP`` when refused."""
        if tag == _STR_TAG:
            return event.value
        if tag == _MERGE_TAG:
            return _MERGE_KEY
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        try:
            return self.constructor.construct_object(node)
        except yaml.YAMLError:
            self._problem(event.start_mark, path, f"unsupported YAML tag {tag!r}")
        except (ValueError, TypeError, IndexError, OverflowError):  # e.g. an empty '!!int'
            self._problem(event.start_mark, path, f"not a value of YAML tag {tag!r}")
        return _SKIP

    def _other_scalar(self, event: _Event, top: _Frame) -> None:
        mark = event.start_mark
        anchor = event.anchor
        if top.role == _MUTED or top.role == _KEY_SKIP or top.key is _SKIP:
            # Inside what is not read (the value of a refused key): only anchors matter.
            if anchor is not None:
                self._anchor(anchor, top.path, mark).value = self._quiet_scalar(event)
                self._done(self.anchors[anchor], 0, False)
            if top.key is _SKIP:
                top.key = _KEY
            return
        if top.is_map and top.key is _KEY:
            key = self._read(event, top.path)
            if anchor is not None:
                self._done(self._anchor(anchor, top.path, mark, key), 0, False)
            self._take_key(top, key, mark)
            return
        if top.role == _SOURCES or top.key is _MERGE:
            self._problem(mark, top.path, _MERGE_MESSAGE)
            if anchor is not None:
                self._done(self._anchor(anchor, top.path, mark, self._quiet_scalar(event)), 0, False)
            if top.key is _MERGE:
                top.key = _KEY
            return
        path = top.path + ((top.key,) if top.is_map else (len(top.value),))
        self.positions[path] = (mark.line + 1, mark.column + 1)
        value = self._scalar(event, path)
        if anchor is not None:
            self._done(self._anchor(anchor, path, mark, value), 0, False)
        if top.is_map:
            top.value[top.key] = value
            top.key = _KEY
        else:
            top.value.append(value)

    def _quiet_scalar(self, event: _Event) -> Any:
        problems = len(self.problems)
        value = self._scalar(event, ())
        del self.problems[problems:]
        return value

    def _take_key(self, top: _Frame, key: Any, mark: _Mark) -> None:
        if key is _MERGE_KEY:
            top.key = _MERGE
            return
        if not isinstance(key, (str, int, float, bool)):
            key = str(key)
        if key in top.value:
            self._problem(mark, top.path + (key,), "duplicate key")
            top.key = _SKIP
            return
        top.key, top.key_mark = key, mark

    # --- collections -------------------------------------------------------------

    def _open(self, event: _Event, is_map: bool, stack: list[_Frame]) -> None:
        self.count += 1
        mark = event.start_mark
        if len(stack) >= MAX_DEPTH:
            raise self._too_deep(mark)
        top = stack[-1] if stack else None
        target = None
        if top is None:
            path, role = (), _ROOT
            self.positions[path] = (mark.line + 1, mark.column + 1)
        elif top.role in (_MUTED, _KEY_SKIP) or top.key is _SKIP:
            path, role = top.path, _MUTED
        elif top.is_map and top.key is _KEY:
            self._problem(mark, top.path, "a key must be a plain value, not a list or mapping")
            path, role = top.path, _KEY_SKIP
        elif top.role == _SOURCES or top.key is _MERGE:
            target = top.target if top.role == _SOURCES else top
            path = top.path
            if is_map:
                role = _SOURCE
            elif top.role == _SOURCES:
                self._problem(mark, path, _MERGE_MESSAGE)
                role = _MUTED
            else:
                role = _SOURCES
        elif top.is_map:
            path, role = top.path + (top.key,), _VALUE
            key_mark = top.key_mark
            assert key_mark is not None  # a mapping's value follows its key
            self.positions[path] = (key_mark.line + 1, key_mark.column + 1)
        else:
            path, role = top.path + (len(top.value),), _VALUE
            self.positions[path] = (mark.line + 1, mark.column + 1)
        anchor = self._anchor(event.anchor, path, mark) if event.anchor is not None else None
        stack.append(_Frame(is_map, path, role, target, anchor))

    def _close(self, frame: _Frame, stack: list[_Frame]) -> Any:
        value = frame.value
        if frame.merged:
            value = {**frame.merged, **value}
        if frame.anchor is not None:
            frame.anchor.value = value
            self._done(frame.anchor, frame.height, True)
        if not stack:
            return value
        top = stack[-1]
        if top.height <= frame.height:
            top.height = frame.height + 1
        role = frame.role
        if role == _VALUE:
            if top.is_map:
                top.value[top.key] = value
                top.key = _KEY
            else:
                top.value.append(value)
        elif role == _SOURCE:
            assert frame.target is not None  # a merge source's frame names the mapping it merges into
            self._merge_in(frame.target, value)
            if top.key is _MERGE:
                top.key = _KEY
        elif role == _SOURCES:
            top.key = _KEY
        elif role == _KEY_SKIP:
            top.key = _SKIP
        elif top.key is _SKIP:  # the muted value of a refused key
            top.key = _KEY
        return value

    @staticmethod
    def _merge_in(mapping: _Frame, source: dict) -> None:
        merged = mapping.merged if mapping.merged is not None else {}
        for key, item in source.items():
            merged.setdefault(key, item)
        mapping.merged = merged

    # --- anchors and aliases -------------------------------------------------------

    def _anchor(self, name: str, path: KeyPath, mark: _Mark, value: Any = None) -> _Anchor:
        if name in self.anchors:
            raise _Invalid(f"found duplicate anchor {name!r}")
        anchor = self.anchors[name] = _Anchor(path, mark, self.count - 1, None if value is _MERGE_KEY else value)
        return anchor

    def _done(self, anchor: _Anchor, height: int, collection: bool) -> None:
        anchor.size = self.count - anchor.start
        anchor.height = height
        anchor.collection = collection

    def _alias(self, event: _Event, stack: list[_Frame]) -> None:
        mark = event.start_mark
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            raise _Invalid(f"found undefined alias {event.anchor!r}")
        top = stack[-1] if stack else None
        if anchor.size == 0:
            self._fatal(mark, top.path if top is not None else (), "an alias cannot stand inside the value it names")
        if self.first_alias is None:
            self.first_alias = mark
        self.count += anchor.size
        self.expansion += anchor.size
        if self.expansion > MAX_ALIAS_EXPANSION:
            self._fatal(self.first_alias, (), f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} values; "
                                              "write the data out or use fewer nested aliases")
        if len(stack) + anchor.height > MAX_DEPTH:
            raise self._too_deep(mark)
        if top is None:
            return
        if top.height < anchor.height + 1:
            top.height = anchor.height + 1
        if top.role in (_MUTED, _KEY_SKIP) or top.key is _SKIP:
            if top.key is _SKIP:
                top.key = _KEY
            return
        self.shared = self.shared or anchor.collection
        if top.is_map and top.key is _KEY:
            if anchor.collection:
                self._problem(anchor.mark, top.path, "a key must be a plain value, not a list or mapping")
                top.key = _SKIP
            else:
                self._take_key(top, anchor.value, anchor.mark)
            return
        if top.role == _SOURCES or top.key is _MERGE:
            into = top.target if top.role == _SOURCES else top
            assert into is not None  # a list of merge sources names the mapping it merges into
            self._alias_source(into, anchor)
            if top.key is _MERGE:
                top.key = _KEY
            return
        if top.is_map:
            path, mark = top.path + (top.key,), (top.key_mark if anchor.collection else anchor.mark)
            top.value[top.key] = anchor.value
            top.key = _KEY
        else:
            path, mark = top.path + (len(top.value),), anchor.mark
            top.value.append(anchor.value)
        self.positions[path] = (mark.line + 1, mark.column + 1)
        self.aliases[path] = anchor.path

    def _alias_source(self, mapping: _Frame, anchor: _Anchor) -> None:
        """``<<: *name``: the anchored mapping's keys, pointed at where they were written."""
        if not isinstance(anchor.value, dict) or not anchor.collection:
            self._problem(anchor.mark, mapping.path, _MERGE_MESSAGE)
            return
        self._merge_in(mapping, anchor.value)
        for key in anchor.value:
            path, original = mapping.path + (key,), anchor.path + (key,)
            pos = self.positions.get(original)
            if pos is not None:
                self.positions[path] = pos
            self.aliases[path] = original

    def _fatal(self, mark: _Mark, path: KeyPath, message: str) -> None:
        """Stop at a problem of what aliases stand for; a syntax error later in the text is reported first
        (the text is read to its end, nothing more is built)."""
        self._drain()
        raise UserError([Problem(Location(self.file, mark.line + 1, mark.column + 1), dotted(path), message)])

    def _drain(self) -> None:
        """Read the rest of the text, building nothing, only to meet a syntax error or too deep nesting."""
        get_event, depth = self.parser.get_event, len(self.stack)
        while (event := get_event()) is not None:
            kind = type(event)
            if kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                depth += 1
                if depth > MAX_DEPTH:
                    raise self._too_deep(event.start_mark)
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                depth -= 1

    def _too_deep(self, mark: _Mark) -> UserError:
        return UserError([Problem(Location(self.file, mark.line + 1, mark.column + 1), "",
                                  f"nested deeper than {MAX_DEPTH} levels")])

    def _problem(self, mark: _Mark, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(Location(self.file, mark.line + 1, mark.column + 1), dotted(path), message))


def _unshare(value: Any, seen: set[int]) -> Any:
    """``value`` with each list or mapping that aliases put in several places copied for every place
    but the first, so that no two places share one (a later change to one would show in the other)."""
    if isinstance(value, dict):
        if id(value) in seen:
            return {key: _unshare(item, seen) for key, item in value.items()}
        seen.add(id(value))
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                value[key] = _unshare(item, seen)
    elif isinstance(value, list):
        if id(value) in seen:
            return [_unshare(item, seen) for item in value]
        seen.add(id(value))
        for i, item in enumerate(value):
            if isinstance(item, (dict, list)):
                value[i] = _unshare(item, seen)
    return value


def _compose_for_error(text: str, file: str) -> None:
    try:
        yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:  # the composer recurses per level; the builder bounds depth before this
        raise UserError([Problem(Location(file, 1, 1), "", f"nested deeper than {MAX_DEPTH} levels")]) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise UserError([Problem(Location(file, line, col), "", f"invalid YAML: {err.problem or err}")]) from None
    except yaml.YAMLError as err:
        raise UserError([Problem(Location(file, 1, 1), "", f"invalid YAML: {err}")]) from None
