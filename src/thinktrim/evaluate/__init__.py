"""Evaluation: answer extraction, grading, metrics and the `thinktrim eval` run loop."""
