"""Reproducible benchmarks of traywidget: `python -m bench` (see BENCHMARKS.md).

One module per benchmark; each exposes NAME, METHOD (the text that goes into
BENCHMARKS.md) and run(ctx) -> list[Result]. Shared launching and statistics
live in bench.common.
"""
