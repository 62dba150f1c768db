"""DTL core: errors, the evaluation context, value helpers and the function registry.

Shared by the engine and every chapter module. Helpers follow the reference's
conventions (``argument-types.rst``): a value expression may give one value or a list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Protocol

from generator.errors import PipegenError
from generator.simulate.values import same
from generator.dtl.catalog import EXPRESSIONS, TRANSFORMS, VARIABLES  # noqa: F401 - VARIABLES re-exported

if TYPE_CHECKING:
    from generator.simulate.dtl.engine import Transform

class DTLError(PipegenError):
    """The DTL is invalid or failed at run time (the node would fail the pipe)."""


class Trip(DTLError):
    """``trip!``/``fail!``: the pipe run fails with this message."""


class DatasetLookup(Protocol):
    def lookup(self, dataset: str, path: str, values: list, track: bool = True) -> list[dict]:
        """Non-deleted entities of ``dataset`` whose ``path`` value overlaps ``values``; ``track``:
        whether a node could invert this join for dependency tracking."""

    def scan(self, dataset: str) -> list[dict]:
        """All non-deleted entities of ``dataset``."""


@dataclass
class Namespaces:
    enabled: bool = False
    identity: str = ""
    property: str = ""


@dataclass
class Ctx:
    """One rule application: the source, the target and the enclosing contexts."""

    S: Any
    T: dict
    P: dict | None
    R: dict
    env: "Transform"
    vars: dict = field(default_factory=dict)  # _ and dataset aliases
    stopped: bool = False  # filter/discard hit: stop applying statements
    dropped: str | None = None  # "filter" | "discard"


# --------------------------------------------------------------------------
# helpers


def as_list(v) -> list:
    """Coerce a value into a list (DTL's value-expression convention)."""
    if v is None:
        return []
    if isinstance(v, list):
        return v
    return [v]


def truthy(v) -> bool:
    """boolean-expression: false, null and [] are false; a list is judged by its first value."""
    if isinstance(v, list):
        if not v:
            return False
        v = v[0]
    return not (v is None or v is False or v == [])


def first(v):
    if isinstance(v, list):
        return v[0] if v else None
    return v


def single_or_list(fn: Callable, v, keep=lambda x: True):
    """Apply ``fn`` to a single value, or to every element of a list (dropping what ``keep`` rejects)."""
    if isinstance(v, list):
        out = []
        for x in v:
            if keep(x):
                r = fn(x)
                if r is not None:
                    out.append(r)
        return out
    if v is None or not keep(v):
        return None
    return fn(v)


def is_number(v) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def is_plain_str(v) -> bool:
    return type(v) is str

# --------------------------------------------------------------------------
# transform functions (statements)

STATEMENTS: dict[str, Callable] = {}
FUNCTIONS: dict[str, Callable] = {}

# How many arguments each function takes, from the one DTL catalog that ``validate`` lints with (the
# reference's signatures). The engine checks it once per call, in the dispatcher, so a function never
# sees a call of the wrong shape and the engine runs exactly what validate accepts.
# (least, most) arguments; "no upper bound" is a number no call reaches, so the check is one comparison.
UNBOUNDED = 1 << 30
ARITY: dict[str, tuple[int, int]] = {n: (s.min_args, UNBOUNDED if s.max_args is None else s.max_args)
                                     for n, s in EXPRESSIONS.items()}
STATEMENT_ARITY: dict[str, tuple[int, int]] = {n: (s.min_args, UNBOUNDED if s.max_args is None else s.max_args)
                                               for n, s in TRANSFORMS.items()}


# What the dispatcher looks up, once per call: the implementation and the bounds on the length of
# the call's list (its arguments plus the name).
DISPATCH: dict[str, tuple[Callable, int, int]] = {}
STATEMENT_DISPATCH: dict[str, tuple[Callable, int, int]] = {}


def register(name: str, fn: Callable) -> None:
    """Add an expression function; a name the catalog lacks fails at import time."""
    if name not in ARITY:
        raise AssertionError(f"DTL function {name!r} is not in generator/dtl/catalog.py")
    FUNCTIONS[name] = fn
    DISPATCH[name] = (fn, ARITY[name][0] + 1, ARITY[name][1] + 1)


def register_statement(name: str, fn: Callable) -> None:
    if name not in STATEMENT_ARITY:
        raise AssertionError(f"DTL transform {name!r} is not in generator/dtl/catalog.py")
    STATEMENTS[name] = fn
    STATEMENT_DISPATCH[name] = (fn, STATEMENT_ARITY[name][0] + 1, STATEMENT_ARITY[name][1] + 1)


def _registering(register_one, names):
    """A decorator that registers its function under each of ``names``."""
    def deco(fn):
        for n in names:
            register_one(n, fn)
        return fn
    return deco


def statement(*names):
    return _registering(register_statement, names)


def function(*names):
    return _registering(register, names)


def arity_error(name: str, count: int, bounds: tuple[int, int]) -> DTLError:
    lo, hi = bounds
    want = str(lo) if lo == hi else f"{lo} or more" if hi == UNBOUNDED else f"{lo} to {hi}"
    return DTLError(f"{name}: takes {want} argument(s), got {count}")


def _eq(a, b) -> bool:
    return same(as_list(a), as_list(b))


def _func_or_values(e, ctx, args, name):
    if len(args) == 1:
        return None, as_list(e.ev(args[0], ctx))
    if len(args) == 2:
        return args[0], as_list(e.ev(args[1], ctx))
    raise DTLError(f"{name}: takes 1 or 2 arguments")


def _branch(e, ctx, args, hit: Callable):
    """``case``/``case-eq``: the branch after the first condition value ``hit`` accepts, else the
    trailing default, else None. Statements execute the branch, functions evaluate it."""
    for i in range(len(args) // 2):
        if hit(e.ev(args[2 * i], ctx)):
            return args[2 * i + 1]
    return args[-1] if len(args) % 2 else None


def cast(name: str, conv: Callable) -> None:
    """Register a cast ``[NAME, FUNCTION?, VALUES]`` (numbers.rst, booleans.rst, date-and-time.rst):
    every non-null value that ``conv`` converts is kept; one it cannot convert is ignored, or,
    given FUNCTION, replaced by FUNCTION evaluated with ``_`` bound to that value
    (``["integer", ["string", "_."], …]`` gives the value's string cast, numbers.rst l.187)."""
    def f(e, ctx, args):
        fexpr = args[0] if len(args) == 2 else None
        vals = e.ev(args[-1], ctx)

        def one(v):
            r = conv(v)
            if r is None and fexpr is not None:
                return e.fn_each(fexpr, ctx, v)
            return r
        if isinstance(vals, list):
            return [r for r in (one(v) for v in vals if v is not None) if r is not None]
        return None if vals is None else one(vals)
    register(name, f)


# The most values or characters one call may produce. A node would run out of memory on such a
# call too; the simulator names the function instead of exhausting the machine.
MAX_SIZE = 10_000_000


def bounded(name: str, size) -> None:
    if isinstance(size, int) and size > MAX_SIZE:
        raise DTLError(f"{name}: a result of {size} values or characters is more than the simulator holds")


def not_simulated(name: str, why: str) -> None:
    """Register a function of the reference the simulator does not model: it fails the pipe by name."""
    def f(e, ctx, args):
        raise DTLError(f"{name}: {why}")
    register(name, f)
