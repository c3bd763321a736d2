"""Results: run directories into pandas DataFrames, and seeds aggregated per configuration.

    from seqlab import results
    df = results.load("runs/zoo_copy")      # one row per (run, seed)
    table = results.aggregate(df)                 # mean ± 95% CI per configuration
    best = results.best_over(df, "optim.lr")      # the best of a learning-rate grid
    curves = results.load_metrics("runs/zoo_copy")

pandas (and scipy) are imported inside the functions that use them: the CLI imports this
package to register `seqlab results`, and its other subcommands should not pay for them.
"""

from seqlab.results.aggregate import aggregate, group_keys, mean_ci
from seqlab.results.load import RunSkipped, config_id, find_runs, load, load_metrics
from seqlab.results.protocols import best_over, deletang_score

__all__ = [
    "RunSkipped",
    "aggregate",
    "best_over",
    "config_id",
    "deletang_score",
    "find_runs",
    "group_keys",
    "load",
    "load_metrics",
    "mean_ci",
]
