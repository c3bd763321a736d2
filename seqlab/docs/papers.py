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

# Delétang et al. 2023, "Neural Networks and the Chomsky Hierarchy" (ICLR), Table 2, the
# regular tasks: the score (accuracy in %, averaged over test lengths 41..500) of the best run
# over 10 seeds and the learning rates 1e-4, 3e-4, 5e-4, after 1,000,000 steps of batch 128.
# Copied for the three architectures seqlab has (their Stack-RNN, NDStack-RNN and Tape-RNN
# columns are 100.0 on these four tasks). Checked against the paper's text (arXiv 2207.02098v3,
# App. B.1: every network but the Transformer solves every regular task for every seed; App.
# B.3.2: the Transformer's 61.9% on cycle navigation) and against a later paper's reprint of the
# modular-arithmetic and parity columns (100.0 / 24.2 / 52.0); the Transformer's 96.4 on even
# pairs is from the table as remembered, not checked (the text says only that it solves it).
# Their Transformer's number is also the maximum over five positional encodings.
DELETANG_2023_SOURCE = "Delétang et al. 2023, Table 2 (max over 10 seeds × 3 learning rates)"
DELETANG_2023_TABLE_2 = {
    "even_pairs": {"rnn": 100.0, "lstm": 100.0, "transformer": 96.4},
    "modular_arithmetic": {"rnn": 100.0, "lstm": 100.0, "transformer": 24.2},
    "parity": {"rnn": 100.0, "lstm": 100.0, "transformer": 52.0},
    "cycle_navigation": {"rnn": 100.0, "lstm": 100.0, "transformer": 61.9},
}
DELETANG_2023_UNCHECKED = {("even_pairs", "transformer")}

# Grazzi et al. 2024/2025, "Unlocking State-Tracking in Linear RNNs Through Negative
# Eigenvalues" (ICLR 2025), Theorem 1: a linear recurrence whose state-transition matrices have
# only positive real eigenvalues cannot compute parity at every length in finite precision
# (however many layers of finite width). What it predicts for each seqlab model on parity.
GRAZZI_2024_SOURCE = "Grazzi et al. 2024, Theorem 1 (finite precision)"
GRAZZI_2024_PARITY = {
    "rnn": "can (nonlinear recurrence)",
    "lstm": "can (nonlinear recurrence)",
    "gru": "can (nonlinear recurrence)",
    "slstm": "can (nonlinear recurrence)",
    "xlstm[1:1]": "can (its sLSTM block)",
    "mlstm": "cannot (forget gate in (0, 1))",
    "mamba": "cannot (exp(-Δ·a) in (0, 1))",
    "mamba2": "cannot (exp(-Δ·a) in (0, 1))",
    "hawk": "cannot (RG-LRU a_t in (0, 1))",
    "mingru": "cannot (1 - z_t in (0, 1))",
    "minlstm": "cannot (f'_t in (0, 1))",
    "lru": "not covered (fixed complex λ, |λ| < 1)",
    "s5": "not covered (fixed complex λ)",
    "transformer": "outside the theorem (attention, not a recurrence)",
}

# Gu & Dao 2023, "Mamba", Table 1 (selective copying, length 4,096, 16 tokens, 2-layer models):
# accuracy (%) per architecture and layer, and which seqlab model stands where. seqlab has no
# S4, H3 or Hyena: its time-invariant recurrences (LRU, S5) take S4's place. Transcribed without
# a copy of the paper at hand in the session that wrote it: check against the PDF before quoting.
GU_DAO_2023_TABLE_1_SOURCE = "Gu & Dao 2023, Table 1 (selective copying, T=4096)"
GU_DAO_2023_TABLE_1 = {
    "mamba": "99.8 (Mamba block, S6)",
    "mamba2": "– (not in the paper; selective, like S6)",
    "hawk": "– (not in the paper; input-gated decay)",
    "lru": "18.3 (S4, time-invariant, no gate) · 56.4 (S4 in the Mamba block)",
    "s5": "18.3 (S4, time-invariant, no gate) · 56.4 (S4 in the Mamba block)",
}
# Gu & Dao 2023, Table 2 (induction heads, trained at 2^8 = 256, tested 2^6..2^20): the outcome
# per model, in words (our reading).
GU_DAO_2023_TABLE_2_SOURCE = "Gu & Dao 2023, Table 2 (induction heads); our reading"
GU_DAO_2023_TABLE_2 = {
    "mamba": "100% at every length up to 2^20 (4,000x the training length)",
    "transformer": "MHA-RoPE: exact near the training length, falls off beyond about 2x",
    "mamba2": "– (not in the paper)",
    "hawk": "– (not in the paper)",
    "lru": "– (S4-like; H3 and Hyena fail beyond the training length)",
    "s5": "– (S4-like; H3 and Hyena fail beyond the training length)",
}

# Zoology (Arora, Eyuboglu et al. 2023), Fig. 2: MQAR accuracy against model width (64..512) at
# (length, pairs) = (64, 4), (128, 8), (256, 16); a figure, so the outcome in words (our reading,
# as the paper's text states it: attention solves MQAR at every width and length shown).
ZOOLOGY_2023_SOURCE = "Arora et al. 2023 (Zoology), Fig. 2; our reading of the figure"
ZOOLOGY_2023_FIGURE_2 = {
    "transformer": "attention: near 1.0 at every width (64..512) and length",
}

# Beck et al. 2024 (xLSTM), Fig. 4: formal languages, rescaled accuracy of 2-block models on
# validation lengths 40..256 after training on lengths up to 40. The outcome per (task, model)
# in words, our reading of the figure, transcribed without a copy of the paper at hand: check
# against the figure before quoting.
BECK_2024_SOURCE = "Beck et al. 2024 (xLSTM), Fig. 4; our reading of the figure, in words"
BECK_2024_FIGURE_4 = {
    ("parity", "xlstm[0:1]"): "solves (sLSTM blocks track the state)",
    ("parity", "xlstm[1:1]"): "solves (its sLSTM block tracks the state)",
    ("parity", "xlstm[1:0]"): "fails (mLSTM only: no state tracking)",
}
