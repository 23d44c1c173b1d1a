"""nprog: table question answering with the Neural Programmer (Neelakantan et al., ICLR 2017)."""

from nprog.program import Program, Step, execute
from nprog.qa import Answer, TableQA
from nprog.tables import Table, TableError

__all__ = ["Answer", "Program", "Step", "Table", "TableError", "TableQA", "execute"]
__version__ = "0.1.0"
