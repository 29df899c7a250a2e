"""Human-readable results: tables for the terminal (and Markdown), plots where a plot says it better."""
