"""`nprog bench`: the suite (`suite`: throughput, latency, scaling, start-up, training; `python -m
nprog.app.bench.suite` runs its one-measurement helpers in fresh processes), the TAPAS comparison (`tapas`),
and the synthetic table and questions both use (`common`)."""
