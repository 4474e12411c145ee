"""The dependency rules of shared/STYLE.md, checked by walking every module's imports.

- `bot/core` imports nothing of `bot` outside `bot.core`, and no database, platform
  or network library: it decides, purely.
- `bot/handlers` never import a transport or a chat library.
- SQL is written only in `bot/store`: elsewhere `sqlalchemy` is imported for the
  session and row types and its errors, never to build statements, and nothing
  calls `.execute(`. `bot/rotate.py` (re-encrypting every sealed column for
  `holdfast rotate-key`) is the one listed exception.
- The handlers import each other without cycles (checkins <-> safety was one).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"

PLATFORM_LIBS = ("telegram", "signalbot", "aiohttp", "httpx")
#: What code outside `bot/store` may take from sqlalchemy: types and errors, no SQL.
SQLALCHEMY_ALLOWED = {
    "sqlalchemy.ext.asyncio": None,  # any name: sessions, engines, factories
    "sqlalchemy.exc": None,
    "sqlalchemy": {"Row"},
}
SQL_EXCEPTIONS = {"bot/rotate.py"}


def modules() -> list[Path]:
    return sorted(BOT.rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def module_name(path: Path) -> str:
    inside = path.relative_to(ROOT) if path.is_relative_to(ROOT) else Path(path.name)
    parts = list(inside.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[str, set[str]]]:
    """(module, names taken from it) for every import in the file, nested ones too.

    `import x.y` gives ("x.y", set()); `from x import a, b` gives ("x", {"a", "b"}).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, set[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, set()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            found.append((base, {alias.name for alias in node.names}))
    return found


def modules_imported(path: Path) -> set[str]:
    """Every module the file may load: `from bot.handlers import safety` loads the submodule."""
    found = set()
    for name, names in imports(path):
        found.add(name)
        found |= {f"{name}.{n}" for n in names}
    return found


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", [p for p in modules() if rel(p).startswith("bot/core/")], ids=rel)
def test_core_imports_nothing_of_bot_and_no_io_library(path: Path) -> None:
    for name in sorted(modules_imported(path)):  # sorted: the first violation is stable
        if top(name) == "bot":
            assert name.startswith("bot.core"), f"{rel(path)} imports {name}"
        assert top(name) not in (*PLATFORM_LIBS, "sqlalchemy", "asyncpg", "aiosqlite"), (
            f"{rel(path)} imports {name}"
        )


@pytest.mark.parametrize(
    "path", [p for p in modules() if rel(p).startswith("bot/handlers/")], ids=rel
)
def test_handlers_never_import_a_transport(path: Path) -> None:
    for name in sorted(modules_imported(path)):
        assert not name.startswith("bot.transports"), f"{rel(path)} imports {name}"
        assert top(name) not in PLATFORM_LIBS, f"{rel(path)} imports {name}"


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if not rel(p).startswith("bot/store/") and rel(p) not in SQL_EXCEPTIONS],
    ids=rel,
)
def test_sql_is_written_only_in_the_store(path: Path) -> None:
    for name, names in imports(path):
        if top(name) != "sqlalchemy":
            continue
        allowed = SQLALCHEMY_ALLOWED.get(name, set())
        if allowed is None:
            continue
        assert names and names <= allowed, f"{rel(path)} imports {sorted(names)} from {name}"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("execute", "scalars", "scalar")
    ]
    assert not calls, f"{rel(path)} runs SQL at lines {calls}"


def test_handlers_import_each_other_without_cycles() -> None:
    handlers = {module_name(p): p for p in modules() if rel(p).startswith("bot/handlers/")}
    graph = {
        mod: {name for name in modules_imported(path) if name in handlers and name != mod}
        for mod, path in handlers.items()
    }
    graph = {mod: deps - {"bot.handlers"} for mod, deps in graph.items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = [mod for mod in graph if mod != "bot.handlers" and reaches(mod, mod, {mod})]
    assert not cycles, f"import cycles through {cycles}"


def test_the_rules_would_catch_a_violation(tmp_path: Path) -> None:
    """Break each rule once in a scratch file: the walker sees it."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from sqlalchemy import select\nfrom bot.transports import telegram\n"
        "def f(session):\n    return session.execute(select(1))\n",
        encoding="utf-8",
    )
    assert ("sqlalchemy", {"select"}) in imports(bad)
    assert "bot.transports.telegram" in modules_imported(bad)
    with pytest.raises(AssertionError, match="imports"):
        test_sql_is_written_only_in_the_store(bad)
    with pytest.raises(AssertionError, match="bot.transports"):
        test_handlers_never_import_a_transport(bad)
    with pytest.raises(AssertionError, match="imports bot.transports"):
        test_core_imports_nothing_of_bot_and_no_io_library(bad)
    bad.write_text("def f(session):\n    return session.execute('x')\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="runs SQL"):
        test_sql_is_written_only_in_the_store(bad)
