"""The little shell a setkey script hides in: here-documents fed to ``setkey -c``, simple loops.

``netstart.local``-style scripts feed setkey from here-documents, sometimes inside
``for n in `jot 62 2`; do … done``. This module finds those here-documents and expands them
statically: loop variables over ``jot``/``seq``/literal word lists, and plain ``NAME=value``
assignments. Anything else (command substitutions, unknown variables, ``setkey -f`` of another
file, pipes into setkey) is reported as not expandable, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

#: Loops longer than this are not expanded (a typo like `jot 6200000` must not eat the memory).
MAX_LOOP_VALUES = 100_000

_FOR = re.compile(r"^\s*for\s+(?P<var>[A-Za-z_]\w*)\s+in\s+(?P<words>.*?)\s*(?:;\s*do\b.*|;)?\s*$")
_DO = re.compile(r"^\s*do\s*$")
_DONE = re.compile(r"^\s*done\b")
_HEREDOC = re.compile(r"\bsetkey\b(?P<opts>[^<|;]*)<<(?P<dash>-?)\s*(?P<q>['\"]?)(?P<delim>\w+)(?P=q)")
_SETKEY = re.compile(r"(?:^|[\s;|&(`])(?:/\S*/)?setkey(?P<opts>(?:\s+-[A-Za-z]+)*)(?:\s+(?P<arg>[^\s;|&<>]+))?")
_ASSIGN = re.compile(r"^\s*(?:export\s+)?(?P<var>[A-Za-z_]\w*)=(?P<value>\S*)\s*$")
_SUBST = re.compile(r"`(?P<bq>[^`]*)`|\$\((?P<dp>[^)]*)\)")
_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_]\w*)\}|(?P<plain>[A-Za-z_]\w*))")


@dataclass(slots=True)
class Heredoc:
    """A here-document fed to setkey: its lines (number, text) and whether ``$`` expands."""

    line: int
    lines: list[tuple[int, str]]
    expand: bool


@dataclass(slots=True)
class Loop:
    line: int
    var: str
    values: list[str] | None
    body: list[Heredoc | Loop | Flush] = field(default_factory=list)
    closed: bool = False


@dataclass(slots=True)
class Flush:
    """``setkey -F`` / ``setkey -FP`` on the command line."""

    line: int
    verb: str


@dataclass(slots=True)
class Problem:
    line: int
    message: str


@dataclass(slots=True)
class Expanded:
    """One here-document after expansion: its lines, and the loop binding it came from."""

    lines: list[tuple[int, str]]
    binding: str | None
    unresolved: dict[int, str]


def is_shell(text: str) -> bool:
    """Whether a script feeds setkey from the shell rather than being setkey input itself."""
    return bool(_HEREDOC.search(text) or re.search(r"^#!\s*/\S*/(?:ba|k|da|z)?sh\b", text))


def words_of(expr: str) -> list[str] | None:
    """The words a ``for`` loop runs over, or None when they cannot be known statically."""
    words: list[str] = []
    pos = 0
    for m in _SUBST.finditer(expr):
        literal = expr[pos:m.start()]
        if literal.strip():
            words.extend(literal.split())
        generated = _generate((m["bq"] if m["bq"] is not None else m["dp"]).split())
        if generated is None:
            return None
        words.extend(generated)
        pos = m.end()
    words.extend(expr[pos:].split())
    if any("$" in w or "`" in w or "*" in w or "?" in w for w in words):
        return None
    return [w.strip("'\"") for w in words]


def _generate(argv: list[str]) -> list[str] | None:
    """``jot`` and ``seq`` with numeric arguments; anything else is unknown."""
    if not argv or any(not re.fullmatch(r"-?\d+", a) for a in argv[1:]):
        return None
    nums = [int(a) for a in argv[1:]]
    values: list[int]
    if argv[0] == "seq" and 1 <= len(nums) <= 3:
        first, step, last = (1, 1, nums[0]) if len(nums) == 1 else (
            (nums[0], 1, nums[1]) if len(nums) == 2 else (nums[0], nums[1], nums[2]))
        if step == 0 or abs((last - first) // step) > MAX_LOOP_VALUES:
            return None
        values = list(range(first, last + (1 if step > 0 else -1), step))
    elif argv[0] == "jot" and 1 <= len(nums) <= 4:
        reps, begin = nums[0], nums[1] if len(nums) > 1 else 1
        if reps < 0 or reps > MAX_LOOP_VALUES:
            return None
        if len(nums) == 4:
            step = nums[3]
        elif len(nums) == 3 and reps > 1:
            step = (nums[2] - begin) // (reps - 1)
        else:
            step = 1
        values = [begin + i * step for i in range(reps)]
    else:
        return None
    return [str(v) for v in values]


def parse(lines: list[tuple[int, str]]) -> tuple[list[Heredoc | Loop | Flush], dict[str, str], list[Problem]]:
    """The here-documents and loops of a shell script, top-level assignments, and problems."""
    top: list[Heredoc | Loop | Flush] = []
    stack: list[Loop] = []
    assigns: dict[str, str] = {}
    problems: list[Problem] = []
    index = 0
    while index < len(lines):
        number, text = lines[index]
        index += 1
        body = stack[-1].body if stack else top
        code = text.split("#", 1)[0] if not text.lstrip().startswith("#!") else ""
        if not code.strip():
            continue
        loop = _FOR.match(code)
        if loop:
            values = words_of(loop["words"])
            if values is None:
                problems.append(Problem(number, f"cannot expand the loop words `{loop['words']}` statically; "
                                                f"the setkey commands inside this loop are left out"))
            new = Loop(number, loop["var"], values)
            body.append(new)
            stack.append(new)
            continue
        if _DO.match(code):
            continue
        if _DONE.match(code):
            if stack:
                stack.pop().closed = True
            else:
                problems.append(Problem(number, "`done` without a `for`"))
            continue
        heredoc = _HEREDOC.search(code)
        if heredoc:
            delim, strip_tabs = heredoc["delim"], bool(heredoc["dash"])
            doc: list[tuple[int, str]] = []
            while index < len(lines):
                n2, t2 = lines[index]
                index += 1
                if (t2.lstrip("\t") if strip_tabs else t2).strip() == delim:
                    break
                doc.append((n2, t2.lstrip("\t") if strip_tabs else t2))
            else:
                problems.append(Problem(number, f"here-document `<<{delim}` never ends; read to the end of the file"))
            if "-c" in heredoc["opts"].split() or re.search(r"-\w*c", heredoc["opts"]) or "-f" in heredoc["opts"]:
                body.append(Heredoc(number, doc, expand=not heredoc["q"]))
            continue
        assign = _ASSIGN.match(code)
        if assign and not stack:
            value = assign["value"].strip("'\"")
            if "$" not in value and "`" not in value:
                assigns[assign["var"]] = value
            continue
        _other_setkey(number, code, body, problems)
    for loop_left in stack:
        problems.append(Problem(loop_left.line, f"`for {loop_left.var} in …` has no `done`; "
                                               f"assumed to run to the end of the file"))
    return top, assigns, problems


def _other_setkey(number: int, code: str, body: list[Heredoc | Loop | Flush], problems: list[Problem]) -> None:
    for m in _SETKEY.finditer(code):
        opts = "".join(m["opts"].split())
        arg = m["arg"]
        if "F" in opts:
            body.append(Flush(number, "spdflush" if "P" in opts else "flush"))
        elif "f" in opts and arg and arg != "-":
            problems.append(Problem(number, f"`setkey -f {arg}` reads another file that is not followed; "
                                            f"give that file to racoondbg as well"))
        elif "c" in opts or ("f" in opts and arg == "-"):
            problems.append(Problem(number, "setkey reads its commands from a pipe here; they cannot be known "
                                            "statically and are left out"))


def expand(items: list[Heredoc | Loop | Flush], assigns: dict[str, str],
           env: dict[str, str] | None = None, binding: str | None = None) -> Iterator[Expanded | Flush]:
    """Every here-document in execution order, with loop variables substituted."""
    env = env if env is not None else {}
    for item in items:
        if isinstance(item, Flush):
            yield item
        elif isinstance(item, Heredoc):
            yield _substitute(item, {**assigns, **env}, binding)
        elif item.values is not None:
            for value in item.values:
                inner = f"{binding}, {item.var}={value}" if binding else f"{item.var}={value}"
                yield from expand(item.body, assigns, {**env, item.var: value}, inner)


def _substitute(doc: Heredoc, env: dict[str, str], binding: str | None) -> Expanded:
    if not doc.expand:
        return Expanded(doc.lines, binding, {})
    out: list[tuple[int, str]] = []
    unresolved: dict[int, str] = {}

    def repl(m: re.Match[str], number: int) -> str:
        name = m["braced"] or m["plain"]
        if name in env:
            return env[name]
        unresolved[number] = f"${name}"
        return m.group(0)

    for number, text in doc.lines:
        if "$" not in text and "`" not in text:
            out.append((number, text))
            continue
        replaced = _VAR.sub(lambda m, n=number: repl(m, n), text)  # type: ignore[misc]
        if "`" in replaced or "$(" in replaced:
            unresolved.setdefault(number, "a command substitution")
        out.append((number, replaced))
    return Expanded(out, binding, unresolved)
