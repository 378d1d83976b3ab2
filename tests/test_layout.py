"""The layout's rules, read from the code's own imports (README, "Layout").

Each rule is a function from a source tree to the violations it finds, so the same checks run on
the project (which must have none) and on a small tree made here with one violation of each kind
(which must find every one): a rule that could never fail would prove nothing.
"""

import ast
import re
import sys
from dataclasses import dataclass
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "knowledge", "scheduler")
KERNEL = {"config", "logs", "store", "keys", "console", "messages", "replies", "inbox", "faq_misses", "queue"}
DEV_ONLY = {"pytest", "hypothesis", "playwright", "ruff", "werobot"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # what it imports, dotted (a submodule when `from package import submodule`)
    line: int


@dataclass(frozen=True)
class Tree:
    root: Path
    modules: dict[str, Path]  # dotted name → file

    @classmethod
    def of(cls, root: Path) -> "Tree":
        files = [root / "app.py"] if (root / "app.py").exists() else []
        for package in PACKAGES:
            files += sorted((root / package).rglob("*.py"))
        return cls(root, {_dotted(root, f): f for f in files})

    def imports(self) -> list[Import]:
        found = []
        for name, path in self.modules.items():
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):  # functions' imports too
                if isinstance(node, ast.Import):
                    found += [Import(name, alias.name, node.lineno) for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    for alias in node.names:
                        sub = f"{node.module}.{alias.name}"
                        found.append(Import(name, sub if sub in self.modules else node.module, node.lineno))
        return found


def _dotted(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _forbidden(tree: Tree, importers: tuple[str, ...], targets: tuple[str, ...], rule: str) -> list[str]:
    return [
        f"{rule}: {i.module} imports {i.target} (line {i.line})"
        for i in tree.imports()
        if _within(i.module, *importers) and _within(i.target, *targets)
    ]


def web_framework_only_in_web(tree: Tree) -> list[str]:
    """Rule 1: flask and werkzeug are imported only under bot/web/ and in app.py."""
    return [
        f"rule 1: {i.module} imports {i.target} (line {i.line})"
        for i in tree.imports()
        if _within(i.target, "flask", "werkzeug") and not _within(i.module, "bot.web", "app")
    ]


def redis_only_in_bot_and_scheduler(tree: Tree) -> list[str]:
    """Rule 2: redis is imported only under bot/ (not bot/web/) and scheduler/."""
    return [
        f"rule 2: {i.module} imports {i.target} (line {i.line})"
        for i in tree.imports()
        if _within(i.target, "redis") and (not _within(i.module, "bot", "scheduler") or _within(i.module, "bot.web"))
    ]


def handlers_are_plain(tree: Tree) -> list[str]:
    """Rule 3: handlers know neither the web framework, Redis, the web layer nor the turn machinery."""
    return _forbidden(tree, ("handlers",), ("flask", "werkzeug", "redis", "bot.web", "bot.chat"), "rule 3")


def bookings_stand_alone(tree: Tree) -> list[str]:
    """Rule 4: the booking engine serves chat, web and scheduler, and imports none of them."""
    return _forbidden(tree, ("bot.bookings",), ("handlers", "bot.chat", "bot.web", "scheduler"), "rule 4")


def knowledge_stands_alone(tree: Tree) -> list[str]:
    """Rule 5: knowledge/ is data and its loaders."""
    return _forbidden(tree, ("knowledge",), ("bot", "handlers", "scheduler"), "rule 5")


def no_import_cycles(tree: Tree) -> list[str]:
    """Rule 6: no cycle between modules, counting imports inside functions."""
    graph: dict[str, set[str]] = {name: set() for name in tree.modules}
    for i in tree.imports():
        if i.target in tree.modules and i.target != i.module:
            graph[i.module].add(i.target)
    cycles, state = [], {}  # state: 1 on the current path, 2 done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for nxt in sorted(graph[name]):
            if state.get(nxt) == 1:
                cycles.append("rule 6: " + " → ".join(path[path.index(nxt) :] + [name, nxt]))
            elif nxt not in state:
                visit(nxt, path + [name])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    return cycles


def only_config_reads_the_environment(tree: Tree) -> list[str]:
    """Rule 7: every environment variable is read in bot/config.py."""
    found = []
    for name, path in tree.modules.items():
        if name == "bot.config":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            reads = (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv", "environb")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ) or (
                isinstance(node, ast.ImportFrom)
                and node.module == "os"
                and any(a.name in ("environ", "getenv") for a in node.names)
            )
            if reads:
                found.append(f"rule 7: {name} reads the environment (line {node.lineno})")
    return found


def small_kernel(tree: Tree) -> list[str]:
    """Rule 8: bot/ itself keeps only the shared kernel; every concern lives in its sub-package."""
    top = {p.stem for p in (tree.root / "bot").glob("*.py") if p.stem != "__init__"}
    found = [f"rule 8: bot/{name}.py belongs in a sub-package" for name in sorted(top - KERNEL)]
    if len(top) > 10:
        found.append(f"rule 8: bot/ has {len(top)} modules (at most 10)")
    return found


def requirements_pin_what_the_service_imports(tree: Tree) -> list[str]:
    """Rule 9: requirements.txt pins every package the code imports and nothing only tests need."""
    pinned = {}
    for line in (tree.root / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name = re.split(r"[\[=<>~!]", line)[0].strip().lower().replace("_", "-")
            pinned[name] = "==" in line
    found = [f"rule 9: {name} is for tests, lint or benchmarks only" for name in sorted(DEV_ONLY & set(pinned))]
    found += [f"rule 9: {name} is not pinned with ==" for name, exact in pinned.items() if not exact]
    distributions = packages_distributions()
    local = set(PACKAGES) | {"app"}
    for i in tree.imports():
        top = i.target.split(".")[0]
        if top in local or top in sys.stdlib_module_names:
            continue
        names = {d.lower().replace("_", "-") for d in distributions.get(top, [top])}
        if not names & set(pinned):
            found.append(f"rule 9: {i.module} imports {top}, which requirements.txt does not pin")
    return sorted(set(found))


RULES = [
    web_framework_only_in_web,
    redis_only_in_bot_and_scheduler,
    handlers_are_plain,
    bookings_stand_alone,
    knowledge_stands_alone,
    no_import_cycles,
    only_config_reads_the_environment,
    small_kernel,
    requirements_pin_what_the_service_imports,
]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_the_project_keeps_the_rule(rule):
    assert rule(Tree.of(ROOT)) == []


BROKEN_TREE = {
    "app.py": "from flask import Flask\n",
    "requirements.txt": "Flask==3.1.3\nredis>=5\npytest==9.2.0\n",
    "bot/__init__.py": "",
    "bot/config.py": "import os\nTOKEN = os.environ.get('T')\n",
    "bot/store.py": "import redis\n",
    "bot/slots.py": "import os\nDAYS = os.getenv('DAYS')\n",
    "bot/web/__init__.py": "",
    "bot/web/pages.py": "import flask\nimport redis\n",
    "bot/chat/__init__.py": "",
    "bot/chat/router.py": "from handlers import booking\n",
    "bot/bookings/__init__.py": "",
    "bot/bookings/engine.py": "def later():\n    from scheduler import jobs\n",
    "handlers/__init__.py": "",
    "handlers/booking.py": "from werkzeug.exceptions import NotFound\nfrom bot.chat import router\n",
    "knowledge/__init__.py": "",
    "knowledge/offices.py": "from bot import store\nimport yaml\n",
    "scheduler/__init__.py": "",
    "scheduler/jobs.py": "from bot.bookings import engine\n",
}


def test_each_rule_finds_its_violation(tmp_path):
    for relative, text in BROKEN_TREE.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    tree = Tree.of(tmp_path)
    found = {rule.__name__: rule(tree) for rule in RULES}
    assert found["web_framework_only_in_web"] == ["rule 1: handlers.booking imports werkzeug.exceptions (line 1)"]
    assert found["redis_only_in_bot_and_scheduler"] == ["rule 2: bot.web.pages imports redis (line 2)"]
    assert found["handlers_are_plain"] == [
        "rule 3: handlers.booking imports werkzeug.exceptions (line 1)",
        "rule 3: handlers.booking imports bot.chat.router (line 2)",
    ]
    assert found["bookings_stand_alone"] == ["rule 4: bot.bookings.engine imports scheduler.jobs (line 2)"]
    assert found["knowledge_stands_alone"] == ["rule 5: knowledge.offices imports bot.store (line 1)"]
    assert found["no_import_cycles"] == [
        "rule 6: bot.bookings.engine → scheduler.jobs → bot.bookings.engine",
        "rule 6: bot.chat.router → handlers.booking → bot.chat.router",
    ]
    assert found["only_config_reads_the_environment"] == ["rule 7: bot.slots reads the environment (line 2)"]
    assert found["small_kernel"] == ["rule 8: bot/slots.py belongs in a sub-package"]
    assert found["requirements_pin_what_the_service_imports"] == [
        "rule 9: handlers.booking imports werkzeug, which requirements.txt does not pin",
        "rule 9: knowledge.offices imports yaml, which requirements.txt does not pin",
        "rule 9: pytest is for tests, lint or benchmarks only",
        "rule 9: redis is not pinned with ==",
    ]
