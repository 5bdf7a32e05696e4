"""Metric engine: pure functions (tested against independent implementations) and stateful accumulators."""
