"""The training engine: state, fused multi-step chunks, checkpoints, the run record."""
