"""Packaging: the wheel works anywhere, and the checkout and the wheel agree on where things are.

The fast tests check the declarations against the source tree (every subpackage mapped, every imported
distribution declared, only nprog/layout.py locating files from ``__file__``) and the checkout's own
import rule. ``test_wheel_answers_from_anywhere`` (marker ``wheel``, its own step in .ci/run: building the
wheel and installing it with torch into a fresh venv takes minutes) builds the wheel from this tree, installs
it into a fresh venv and asks a question from an empty directory with the shipped model.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from nprog import layout

tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml with tomllib")
ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
SOURCE_DIRS = {"nprog": "nprog", "nprog.app": "app", "nprog.memory": "memory"}  # package → its directory


def _sources() -> list[Path]:
    return [ROOT / "streamlit_app.py"] + [
        p for d in SOURCE_DIRS.values() for p in sorted((ROOT / d).rglob("*.py"))
    ]


def _normalized(requirement: str) -> str:
    """The distribution name of a requirement string, normalized (PEP 503)."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_subpackage_of_the_tree_is_declared_with_its_directory():
    found = set()
    for package, directory in SOURCE_DIRS.items():
        for init in (ROOT / directory).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / directory).parts
            found.add(".".join((package, *parts)))
    declared = set(SETUPTOOLS["packages"])
    assert found <= declared, (
        f"add {sorted(found - declared)} to [tool.setuptools] packages in pyproject.toml"
    )
    mapped = {p: d for p, d in SETUPTOOLS["package-dir"].items() if p in SOURCE_DIRS}
    assert mapped == SOURCE_DIRS
    assert {p.split(".")[0] for p in declared} == {"nprog"}  # the only top-level import name a wheel adds
    package, _, module = PYPROJECT["project"]["scripts"]["nprog"].split(":")[0].rpartition(".")
    assert (ROOT / SOURCE_DIRS[package] / f"{module}.py").is_file()  # the console script's module exists


def test_every_imported_distribution_is_declared():
    """Every third-party import of the code (nested ones too) comes from a declared dependency or a feature
    extra, and every one in tests/ from those or the dev extra (pyarrow and altair were imported but
    undeclared once)."""
    stdlib = set(sys.stdlib_module_names)
    dists = metadata.packages_distributions()
    ours = {"nprog", "app", "memory", "tests", "streamlit_app"}
    extras = PYPROJECT["project"].get("optional-dependencies", {})
    # The code may import a package of a feature extra (say, a database driver it imports when asked to);
    # the dev extra (test tools) is for tests only
    declared = {_normalized(r) for r in PYPROJECT["project"]["dependencies"]}
    declared |= {_normalized(r) for name, reqs in extras.items() if name != "dev" for r in reqs}
    dev = declared | {_normalized(r) for r in extras.get("dev", [])}
    local = {p.stem for p in (ROOT / "tests").rglob("*.py")}  # helper modules the tests import by name

    def missing(files, allowed):
        out = {}
        for path in files:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.append(node.module)
                for top in {n.split(".")[0] for n in names} - stdlib - ours - local:
                    wanted = {_normalized(d) for d in dists.get(top, [top])}
                    if not wanted & allowed:
                        out.setdefault(top, []).append(str(path.relative_to(ROOT)))
        return out

    assert not missing(_sources(), declared), "imported but not in [project] dependencies"
    assert not missing(sorted((ROOT / "tests").rglob("*.py")), dev), "imported by tests but not declared"


def test_only_layout_locates_files_from_the_source():
    """A path that climbs out of its module's directory from __file__ (to data/, to the repository) points
    elsewhere once installed (app/x.py is nprog/app/x.py in a wheel); nprog/layout.py knows both layouts.
    A file beside the module (``Path(__file__).with_name(...)``) is the same in both and allowed."""
    climbs = re.compile(r"__file__.*(\.parent\.parent|\.parents\[|\.\.)")
    assert climbs.search('ROOT = Path(__file__).resolve().parent.parent / "data"')  # what it looks for
    assert climbs.search('Path(__file__).resolve().parents[1] / "data" / "models"')
    assert not climbs.search('_WORKER = Path(__file__).resolve().with_name("dbworker.py")')
    offenders = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in _sources()
        if p.name != "layout.py"
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if climbs.search(line)
    ]
    assert not offenders, "locate shipped files through nprog.layout"


def test_a_checkout_uses_its_own_data_and_subpackages():
    assert layout.CHECKOUT == ROOT
    assert layout.DEFAULT_MODEL == ROOT / "data" / "models" / "wtq"
    assert layout.SAMPLES == ROOT / "data" / "samples" and (layout.SAMPLES / "questions.json").is_file()
    assert (layout.UI_DIR / "streamlit_app.py").is_file() and (
        layout.UI_DIR / ".streamlit" / "config.toml"
    ).is_file()
    # From elsewhere, with only this tree on the path: nprog.app and nprog.memory are app/ and memory/ of
    # this tree, whatever editable install the interpreter has
    code = "import nprog.app.cli, nprog.memory.ntm, json; print(json.dumps([nprog.app.cli.__file__, nprog.memory.ntm.__file__]))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT / "tests", env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert [Path(p) for p in json.loads(proc.stdout)] == [ROOT / "app" / "cli.py", ROOT / "memory" / "ntm.py"]


# ---- the wheel ----------------------------------------------------------------------------------------

QUESTION = "which nation won the most gold medals?"
TABLE = "Nation,Gold,Silver,Bronze\nNorway,16,8,13\nGermany,12,10,5\nCanada,4,8,8\nJapan,3,6,9\n"


def _tree_files() -> list[str]:
    """The files of this tree that git would commit (tracked, or new and not ignored)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("the wheel test builds from the files git knows: needs git and a checkout")
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [f for f in out.split("\0") if f and (ROOT / f).is_file()]


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, (
        f"{cmd}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


@pytest.mark.wheel
def test_wheel_answers_from_anywhere(tmp_path):
    import torch

    from nprog import Table, TableQA

    # Build from a copy of what git would commit: no stale build/ files, no local models under data/
    files = _tree_files()
    src = tmp_path / "src"
    for f in files:
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, src / f)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)], timeout=900)
    (wheel,) = dist.glob("nprog-*.whl")

    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"nprog", wheel.name.split("-py3")[0] + ".dist-info"}
    for f in files:  # every module and every data file of the tree, at its place in the package
        top, _, rest = f.partition("/")
        if f.endswith(".py") and top in ("app", "memory", "nprog"):
            assert ("nprog/" + f if top != "nprog" else f) in names, f
        elif top == "data":
            assert f"nprog/_data/{rest}" in names, f
    assert {"nprog/_ui/streamlit_app.py", "nprog/_ui/.streamlit/config.toml"} <= set(names)

    # A fresh venv (no system site-packages) with the torch build installed here, then the wheel; nothing of
    # this tree on the path (a checkout on PYTHONPATH would even make pip think nprog is installed)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "NPROG_MODEL")
    }
    env["OMP_NUM_THREADS"] = "1"
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python, nprog = env_dir / "bin" / "python", env_dir / "bin" / "nprog"
    torch_req = "torch==" + torch.__version__.split("+")[0]
    _run([str(python), "-m", "pip", "install", "-q", torch_req, str(wheel)], env=env, timeout=1800)

    # From an empty directory elsewhere
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "data.csv").write_text(TABLE)
    proc = _run(
        [str(nprog), "ask", "--table", "data.csv", QUESTION, "--json"], cwd=work, env=env, timeout=600
    )
    got = json.loads(proc.stdout)
    want = TableQA.load().ask(Table.from_csv(work / "data.csv"), QUESTION).to_dict()  # this checkout's model
    assert got.pop("confidence") == pytest.approx(want.pop("confidence"), abs=1e-5)
    assert got == want  # answer, cells, program and SQL

    for stray in ("app", "memory"):  # the wheel adds no top-level name besides nprog
        proc = subprocess.run(
            [str(python), "-c", f"import {stray}"], cwd=work, env=env, capture_output=True, text=True
        )
        assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr, (stray, proc.stderr)
    where = _run(
        [str(python), "-c", "from nprog import layout; print(layout.CHECKOUT, layout.DATA)"],
        cwd=work,
        env=env,
    ).stdout.split()
    assert where[0] == "None" and Path(where[1]).is_relative_to(env_dir)

    # The memory-task checkpoints ship too: an ACT checkpoint evaluated by the installed CLI
    proc = _run([str(nprog), "memory", "eval", "parity"], cwd=work, env=env, timeout=600)
    assert "with ACT" in proc.stdout
    assert sorted(os.listdir(work)) == ["data.csv"]  # nothing written where it ran
