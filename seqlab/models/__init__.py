"""Models; importing this package registers every model in MODELS."""

from seqlab.models import lstm  # noqa: F401  (registration)
from seqlab.models.sequence import SequenceModel

__all__ = ["SequenceModel"]
