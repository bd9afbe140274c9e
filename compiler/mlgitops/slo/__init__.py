"""Service level objectives: metric sources, the burn-rate alert table, explanations and proofs."""
