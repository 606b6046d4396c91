"""Studies built on the engine: runs over replications with their intervals, the incentive analysis, the
portfolio transition, parameter sweeps and their analysis, and the size estimate of each."""
