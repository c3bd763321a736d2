"""Tasks; importing this package registers every task in TASKS."""

from seqlab.tasks import adding, adding_1997, copy  # noqa: F401  (registration)
from seqlab.tasks.base import Batch, Criterion, Task, TaskSpec, metric_mode

__all__ = ["Batch", "Criterion", "Task", "TaskSpec", "metric_mode"]
