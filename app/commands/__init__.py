"""The `nprog` commands that are more than a few lines of app/cli.py: `batch` (`batch.run_batch`: a file of
questions over many tables, with resume, workers and the portable-SQL check)."""
