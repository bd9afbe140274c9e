"""Facts about the systems mlgitops targets, with no dependency on the rest of the package:
units, KServe's framework table, metric sources, the burn-rate alert table."""
