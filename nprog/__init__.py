"""nprog: table question answering with the Neural Programmer (Neelakantan et al., ICLR 2017).

The names below are imported on first use, so that `import nprog.tables` (or `nprog --help`, `nprog data
stats`) does not pay for torch.
"""

from nprog import layout

layout.install_checkout_finder()  # a source checkout: nprog.app is app/, nprog.memory is memory/

__all__ = ["Answer", "Program", "Step", "Table", "TableError", "TableQA", "execute"]
__version__ = "0.1.0"

_HOME = {
    "Answer": "nprog.qa",
    "TableQA": "nprog.qa",
    "Program": "nprog.program",
    "Step": "nprog.program",
    "execute": "nprog.program",
    "Table": "nprog.tables",
    "TableError": "nprog.readers",
}


def __getattr__(name: str):
    if name in _HOME:
        import importlib

        value = getattr(importlib.import_module(_HOME[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nprog' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
