"""Traces, their on-disk layouts, resumable stores and benchmark sets."""
