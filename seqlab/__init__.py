"""seqlab: a JAX/Flax laboratory for comparing sequence architectures on long-range tasks."""

__version__ = "0.1.0"
