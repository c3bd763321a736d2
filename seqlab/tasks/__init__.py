"""Tasks; importing this package registers every task in TASKS."""

from seqlab.tasks import (  # noqa: F401  (registration)
    adding,
    adding_1997,
    copy,
    formal,
    induction_heads,
    listops,
    mnist,
    modular_arithmetic,
    mqar,
    selective_copy,
)
from seqlab.tasks.base import Batch, Criterion, Task, TaskSpec, metric_mode

__all__ = ["Batch", "Criterion", "Task", "TaskSpec", "metric_mode"]
