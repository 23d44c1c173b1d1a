"""Caches have one home (nprog/caches.py): no other module keeps a module-level memo, nothing sets private
attributes on other modules' objects (per-table data is a Table cached_property), and caches.clear()
empties every cache the process has."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd

from nprog import caches

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nprog", "app", "memory")  # app/ and memory/ install as nprog.app and nprog.memory
CACHE_MODULE = ROOT / "nprog" / "caches.py"
# module-level mutable state that is not a memo, each with the reason it stays where it is
NOT_CACHES = {
    (
        "app/commands/batch.py",
        "_WORKER",
    ): "a --workers pool process's model and settings, set once by its initializer",
}
_EMPTY_CONTAINERS = {
    "dict",
    "list",
    "set",
    "OrderedDict",
    "defaultdict",
    "WeakKeyDictionary",
    "WeakValueDictionary",
    "deque",
}
_MUTATORS = {
    "update",
    "setdefault",
    "append",
    "extend",
    "add",
    "insert",
    "pop",
    "popitem",
    "clear",
    "move_to_end",
    "__setitem__",
}
_MEMO_DECORATORS = {"lru_cache", "cache"}
_CACHE_WORDS = ("cache", "memo", "lru")  # a module-level instance of a class so named


def _name(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _name(node.func)
    return None


def module_caches(source: str) -> list[str]:
    """What in one module's source looks like a process-wide memo or an attribute set on a foreign object."""
    tree = ast.parse(source)
    found, module_names = [], {}
    for node in tree.body:  # module-level bindings of empty containers (filled later: a memo)
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        value = getattr(node, "value", None)
        for target in targets:
            if isinstance(target, ast.Name):
                module_names[target.id] = node.lineno
                empty = (
                    isinstance(value, ast.Dict | ast.List | ast.Set)
                    and not getattr(value, "keys", None)
                    and not getattr(value, "elts", None)
                ) or (isinstance(value, ast.Call) and _name(value) in _EMPTY_CONTAINERS and not value.args)
                if empty:
                    found.append(f"{target.id} = an empty container (line {node.lineno})")
                elif isinstance(value, ast.Call) and any(
                    w in (_name(value) or "").lower() for w in _CACHE_WORDS
                ):
                    found.append(f"{target.id} = {_name(value)}(…) (line {node.lineno})")
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                if _name(decorator) in _MEMO_DECORATORS:
                    found.append(f"@{_name(decorator)} on {node.name} (line {node.lineno})")
            for inner in ast.walk(node):
                if isinstance(inner, ast.Global):
                    found.append(f"global {', '.join(inner.names)} in {node.name} (line {inner.lineno})")
                stores = inner.targets if isinstance(inner, ast.Assign) else []
                for target in stores:  # X[k] = … on a module-level name; obj._private = … on another object
                    if (
                        isinstance(target, ast.Subscript)
                        and isinstance(target.value, ast.Name)
                        and target.value.id in module_names
                    ):
                        found.append(f"{target.value.id}[…] = … in {node.name} (line {inner.lineno})")
                    if (
                        isinstance(target, ast.Attribute)
                        and target.attr.startswith("_")
                        and not target.attr.startswith("__")
                        and isinstance(target.value, ast.Name)
                        and target.value.id not in ("self", "cls")
                    ):
                        found.append(
                            f"{target.value.id}.{target.attr} = … in {node.name} (line {inner.lineno})"
                        )
                if (
                    isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Attribute)
                    and inner.func.attr in _MUTATORS
                    and isinstance(inner.func.value, ast.Name)
                    and inner.func.value.id in module_names
                ):
                    found.append(
                        f"{inner.func.value.id}.{inner.func.attr}(…) in {node.name} (line {inner.lineno})"
                    )
    return found


def test_the_scan_finds_each_kind_of_memo():
    source = """
import functools
_MEMO = {}
_SEEN: list = []
_ORDER = OrderedDict()
_tables = _TableCache(5_000)
MONTHS = {"may": 5}
@functools.lru_cache(maxsize=8)
def a(x): return x
@cache
def b(x): return x
def c(table, k):
    _MEMO[k] = 1
    MONTHS.update(june=6)
    table._words = k
    self_ok = k
    global _SEEN
"""
    found = " | ".join(module_caches(source))
    for what in (
        "_MEMO = ",
        "_SEEN = ",
        "_ORDER = ",
        "_tables = _TableCache",
        "@lru_cache on a",
        "@cache on b",
        "_MEMO[…]",
        "MONTHS.update",
        "table._words",
        "global _SEEN",
    ):
        assert what in found, what
    assert "MONTHS = " not in found  # a constant table is not a memo


def test_no_module_level_cache_outside_the_cache_module():
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == CACHE_MODULE:
                continue
            rel = path.relative_to(ROOT).as_posix()
            for what in module_caches(path.read_text(encoding="utf-8")):
                if (rel, what.split()[0].split("[")[0].split(".")[0]) not in NOT_CACHES:
                    offenders.append(f"{rel}: {what}")
    assert not offenders, "caches belong in nprog/caches.py:\n" + "\n".join(offenders)


def test_clear_empties_every_cache(tmp_path):
    from nprog import encoder, questions, tables, values, wtq
    from nprog.qa import TableQA  # noqa: F401  (imports every module that registers a cache)
    from tests.tiny_bert import write_tiny_bert

    (tmp_path / "csv" / "200-csv").mkdir(parents=True)
    pd.DataFrame({"Year": ["1998", "1999"], "City": ["Oslo", "Bergen"]}).to_csv(
        tmp_path / "csv" / "200-csv" / "0.csv", index=False
    )
    tables.normalize_text(["Ærø Ångström", "hello"])
    values.parse_strings(["12 km", "1998"])
    questions.name_tokens("Avg. Attendance")
    wtq.load_table(tmp_path, "csv/200-csv/0.csv")
    bert = write_tiny_bert(
        tmp_path / "bert"
    )  # the pretrained encoder's caches: base hash, tokenizer, headers
    encoder.weights_sha256(bert)
    encoder.word_pieces(str(bert)).names((("gold",), ("nation",)))
    assert all(len(c) for c in caches.registered()), [(c.name, len(c)) for c in caches.registered()]
    assert {c.name for c in caches.registered()} >= {
        "normalized text",
        "parsed strings",
        "WTQ tables",
        "nprog.wtq._checked_path_cached",
    }
    caches.clear()
    assert not [c.name for c in caches.registered() if len(c)]
    assert all(c.bound for c in caches.registered())  # each says how much it may keep


def test_a_full_string_memo_starts_over():
    memo = caches.StringMemo("test", limit=3)
    memo.add({"a": 1, "b": 2})
    memo.add({"c": 3})
    assert memo.lookup(["a", "c", "z"]) == {"a": 1, "c": 3, "z": None}
    memo.add({"d": 4})  # would pass the limit: emptied first
    assert len(memo) == 1 and memo.lookup(["a", "d"]) == {"a": None, "d": 4}


def test_the_table_cache_is_bounded_by_cost_and_keeps_the_newest():
    lru = caches.CostBoundedLRU("test", budget=10, cost=len, unit="items")
    lru.put("a", "xxxx")
    lru.put("b", "xxxx")
    assert lru.get("a") == "xxxx"  # a is now the most recent
    lru.put("c", "xxxx")  # 12 > 10: the least recently used (b) goes
    assert "b" not in lru and "a" in lru and "c" in lru
    lru.put("huge", "x" * 50)  # alone over the budget: still kept, everything older goes
    assert len(lru) == 1 and lru.get("huge")


def test_per_table_data_is_declared_on_the_table():
    from nprog.tables import Table

    table = Table.from_dataframe(pd.DataFrame({"City": ["Oslo East", "Bergen"], "Year": ["1998", "1999"]}))
    words, parents = table.cell_words
    assert words.to_pylist() == ["oslo", "east", "bergen"] and parents.tolist() == [0, 0, 1]
    assert table.cell_values.number[1].tolist() == [1998, 1999]
    assert table.cell_words is table.cell_words  # derived once
