"""Error frequency, recovery metrics, health score and error analysis: pure functions over Polars frames."""
