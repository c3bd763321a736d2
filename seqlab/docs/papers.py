"""Published results that seqlab's studies are placed against, each with its source.

Numbers a paper prints are copied as printed. Where a paper only has a figure, the entry is
the outcome its figure and text show (our reading), never a number read off a plot.
"""

from __future__ import annotations

# Hochreiter & Schmidhuber 1997, "Long Short-Term Memory", Table 7 (Experiment 4, adding):
# T -> (minimal lag, training sequences until the stopping rule held, averaged over 10 trials,
# and the wrong predictions out of 2560 test sequences afterwards).
HOCHREITER_1997_TABLE_7 = {
    100: {"minimal_lag": 50, "sequences": 74_000, "wrong": "1 / 2560"},
    500: {"minimal_lag": 250, "sequences": 209_000, "wrong": "0 / 2560"},
    1000: {"minimal_lag": 500, "sequences": 853_000, "wrong": "1 / 2560"},
}
HOCHREITER_1997_SOURCE = "Hochreiter & Schmidhuber 1997, Table 7 (10 trials per T)"

# Arjovsky, Shah & Bengio 2016, "Unitary Evolution RNNs": Figures 1 (copy) and 2 (adding) and
# the text of Sections 4.1-4.2. The paper gives curves, not numbers: per model, the outcome its
# figure shows across the lengths it ran, in words (our reading; no copy of the paper was at
# hand when this was written, so these are stated per model, not per length).
ARJOVSKY_2016_SOURCE = "Arjovsky, Shah & Bengio 2016, Fig. 1 (copy), Fig. 2 (adding); our reading"
ARJOVSKY_2016_COPY = {
    "lstm": "near the memoryless baseline; below it only at the shortest delays",
    "rnn": "at the baseline at every T",
    "irnn": "at the baseline at every T",
}
ARJOVSKY_2016_ADDING = {
    "lstm": "far below the baseline (MSE 0.167) at every T",
    "rnn": "at the baseline at every T",
    "irnn": "below the baseline, less reliably at the longest T",
}
