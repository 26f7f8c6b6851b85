"""Every DVC stage declares the avemo code it runs: the modules its ``avemo <command>`` imports,
transitively (``import`` statements anywhere in a module count, lazy ones included), are
covered by the stage's ``src/`` deps, and every ``src/`` dep covers some of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from avemo import cli

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def module_file(name: str) -> Path | None:
    """The source file of avemo module ``name`` (``a.b`` -> ``src/a/b.py`` or ``src/a/b/__init__.py``)."""
    base = SRC.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported_modules(tree: ast.AST) -> set[str]:
    """avemo modules a syntax tree imports: ``import a.b``, ``from a import b`` (``a.b`` when it is
    a module, else ``a``) and ``importlib.import_module("a.b")`` with a literal name."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names if module_file(f"{node.module}.{a.name}")}
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            out.add(str(node.args[0].value))
    return {m for m in out if m.split(".")[0] == "avemo"}


def with_parents(name: str) -> set[str]:
    """Importing ``a.b.c`` runs ``a``, ``a.b`` and ``a.b.c``."""
    parts = name.split(".")
    return {".".join(parts[:k]) for k in range(1, len(parts) + 1)}


def closure(roots: set[str]) -> set[Path]:
    """Source files of ``roots`` and of everything they import, transitively."""
    todo = set().union(*map(with_parents, roots))
    files: set[Path] = set()
    while todo:
        path = module_file(todo.pop())
        if path is None or path in files:
            continue
        files.add(path)
        for m in imported_modules(ast.parse(path.read_text())):
            todo |= with_parents(m)
    return files


def command_files(name: str) -> set[Path]:
    """The source files ``avemo <name>`` runs: the CLI module, what it imports at its top level
    (every command runs that), and what the command function imports, directly or through the
    CLI module's helper functions it calls, transitively."""
    [fn] = [c.callback for c in cli.app.registered_commands
            if (c.name or c.callback.__name__.replace("_", "-")) == name]
    tree = ast.parse(Path(cli.__file__).read_text())
    helpers = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    modules = imported_modules(ast.Module(
        body=[n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)], type_ignores=[]))
    callbacks = [n.name for n in helpers.values()  # app.callback(): runs before every command
                 if any("callback" in ast.unparse(d) for d in n.decorator_list)]
    todo, seen = [fn.__name__, *callbacks], set()
    while todo:
        node = helpers[todo.pop()]
        seen.add(node.name)
        modules |= imported_modules(node)
        todo += [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in helpers and n.id not in seen]
    return {Path(cli.__file__).resolve()} | closure(modules)


def stages() -> list[tuple[str, str, list[str]]]:
    """``(stage, command, src deps)`` per stage of dvc.yaml (a ``foreach`` stage's ``do``)."""
    out = []
    for name, stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].items():
        body = stage.get("do", stage)
        words = body["cmd"].split()
        assert words[0] == "avemo", f"stage {name}: cmd {body['cmd']!r} is not an avemo command"
        deps = [d if isinstance(d, str) else next(iter(d)) for d in body.get("deps", [])]
        out.append((name, words[1], [d for d in deps if d.startswith("src/")]))
    return out


def covers(dep: str, path: Path) -> bool:
    target = (ROOT / dep).resolve()
    return path == target or target in path.parents


def check(command: str, deps: list[str]) -> tuple[list[str], list[str]]:
    """``(missing, unused)``: files ``avemo <command>`` imports that ``deps`` leave out, and
    ``src/`` deps that cover none of them."""
    files = command_files(command)
    missing = sorted(str(f.relative_to(ROOT)) for f in files if not any(covers(d, f) for d in deps))
    return missing, [d for d in deps if not any(covers(d, f) for f in files)]


@pytest.mark.parametrize(("stage", "command", "deps"), stages(), ids=[s[0] for s in stages()])
def test_each_stage_declares_the_code_it_imports(stage: str, command: str, deps: list[str]) -> None:
    missing, unused = check(command, deps)
    assert not missing, f"dvc.yaml stage {stage!r} runs `avemo {command}`, which imports {missing}; add them to its deps"
    assert not unused, f"dvc.yaml stage {stage!r} declares {unused}, which `avemo {command}` never imports"


def test_a_dropped_or_stray_dependency_is_caught() -> None:
    [(_, command, deps)] = [s for s in stages() if s[0] == "teacher"]
    kept = [d for d in deps if d not in ("src/avemo/io.py", "src/avemo/train")]
    missing, unused = check(command, [*kept, "src/avemo/registry"])
    assert "src/avemo/io.py" in missing and "src/avemo/train/teacher.py" in missing
    assert unused == ["src/avemo/registry"]


def test_the_import_closure_follows_lazy_and_from_imports(tmp_path: Path) -> None:
    """The check itself: a function-level ``from avemo.x import y`` pulls in ``avemo/x/y.py``,
    its package ``__init__``s and what it imports in turn."""
    files = closure({"avemo.serve.predict"})
    rel = {str(f.relative_to(SRC)) for f in files}
    assert {"avemo/__init__.py", "avemo/serve/__init__.py", "avemo/serve/predict.py", "avemo/config.py"} <= rel
    assert "avemo/serve/pipeline.py" in rel  # imported by predict.py
    assert not any(r.startswith("avemo/registry") for r in rel)
