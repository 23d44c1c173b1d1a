"""The Spark-dialect SQL on Apache Spark: WTQ dev questions, each table read by Spark's own CSV reader.

nprog answers the first SPARK_QUESTIONS dev questions; each table is written as a CSV (the cells nprog
read, under their headers), read with ``spark.read.csv`` into a temporary view named after the table with
an explicit order column ``line``, and the printed Spark SQL must give nprog's answer or be refused with
an ExportError. One local[1] session for the module. Needs Java and pyspark (``.ci/run`` installs both) and
$NPROG_WTQ_DIR; skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from nprog.answers import format_number, lists_match
from nprog.portable import ExportError, agreement_line, to_portable_sql, write_csv
from nprog.program import execute

SPARK_QUESTIONS = 200
ORDER = "line"
WTQ = Path(os.environ.get("NPROG_WTQ_DIR", "/nonexistent"))
DEV = WTQ / "data" / "random-split-1-dev.tsv"

pytestmark = [
    pytest.mark.slow,  # minutes (a JVM, 200 questions): .ci/run runs the slow group as its own step
    pytest.mark.skipif(
        shutil.which("java") is None, reason="Spark needs Java (.ci/run installs default-jre-headless)"
    ),
    pytest.mark.skipif(not DEV.is_file(), reason="needs WikiTableQuestions: set NPROG_WTQ_DIR"),
]


@pytest.fixture(scope="module")
def spark():
    pyspark = pytest.importorskip("pyspark.sql", reason="needs pyspark (pip install -e '.[dev]')")
    session = (
        pyspark.SparkSession.builder.master("local[1]").appName("nprog-portable-sql")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1")
        .config("spark.driver.memory", "1g").getOrCreate()
    )  # fmt: skip
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return format_number(float(value))  # COUNT(*)


def test_spark_sql_agrees_with_nprog_on_wtq_dev(spark, tmp_path):
    from pyspark.sql import functions as F

    from nprog.evaluate import predict_stream
    from nprog.qa import TableQA
    from nprog.wtq import read_examples

    examples = read_examples(DEV)[:SPARK_QUESTIONS]
    qa = TableQA.load(device="cpu")
    counts, wrong = Counter(), []
    views: dict[str, str] = {}  # WTQ context → its loaded view
    for p in predict_stream(qa, WTQ, examples, 64, with_kind=False):
        assert p.answer is not None, p.error
        name = f"table_{Path(p.example.context).stem}"  # a Spark view name is an identifier
        try:
            sql = to_portable_sql(p.answer.program, p.answer.table, "spark", name, ORDER)
        except ExportError:
            counts["refused"] += 1
            continue
        if views.get(name) != p.example.context:  # the same stem in another folder is another table
            path = tmp_path / f"{len(views)}.csv"
            write_csv(p.answer.table, path)
            frame = spark.read.csv(str(path), header=True, multiLine=True, escape='"')
            frame = frame.withColumn(ORDER, F.monotonically_increasing_id()).cache()  # read once per table
            frame.createOrReplaceTempView(name)
            views[name] = p.example.context
        got = [_cell(row[0]) for row in spark.sql(sql).collect()]
        expected = execute(p.answer.program, p.answer.table).answer
        if lists_match(expected, got):
            counts["agree"] += 1
        else:
            counts["wrong"] += 1
            wrong.append((p.example.id, str(p.answer.program), expected, got))
    line = agreement_line(counts["agree"], counts["refused"], counts["wrong"])
    print(f"\nspark {line}")
    assert sum(counts.values()) == SPARK_QUESTIONS
    assert counts["wrong"] == 0, wrong[:5]
    assert counts["agree"] >= 0.9 * SPARK_QUESTIONS, line
