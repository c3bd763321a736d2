"""One registry class for models and tasks: decorator registration, clear errors.

A name may carry an argument in brackets, `family[arg]` (e.g. `xlstm[7:1]`), for families
registered with `takes_arg=True`; the factory reads it from the name it is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_NAME = re.compile(r"^(?P<base>[^\[\]]+)(?:\[(?P<arg>[^\[\]]*)\])?$")


class UnknownNameError(KeyError):
    """An unknown registry name; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain.
        return str(self.args[0])


def split_name(name: str) -> tuple[str, str | None]:
    """'xlstm[7:1]' -> ('xlstm', '7:1'); 'lstm' -> ('lstm', None)."""
    m = _NAME.match(name)
    return (m["base"], m["arg"]) if m else (name, None)


def _always_causal(cfg) -> bool:
    return not cfg.bidirectional


def _one(cfg) -> int:
    return 1


def _no_step_limit(cfg, spec) -> None:
    return None


@dataclass(frozen=True)
class Entry:
    name: str
    factory: Callable[..., Any]
    description: str
    takes_arg: bool = False  # the name may be written family[arg]
    # Model families only:
    sizes: dict[str, dict] = field(default_factory=dict)  # variant -> model fields it sets
    recurrent: bool = False  # model.bidirectional applies
    blocks: bool = False  # residual blocks by design (model.residual/norm do not apply)
    causal: Callable[[Any], bool] = _always_causal  # does the model (cfg) see only the past?
    width_multiple: Callable[[Any], int] = _one  # model.hidden must be a multiple of this
    # model.* fields besides hidden/layers/embed_dim that apply to this model; recorded in its
    # built size, so `seqlab results` shows "–" for them on the models they do not apply to
    size_fields: tuple[str, ...] = ()
    hand_backward: bool = False  # model.backward=hand applies (a cell with a hand-written VJP)
    inits: tuple[str, ...] = ("default",)  # the model.init schemes the family implements
    learns_initial_state: bool = False  # model.learn_initial_state applies
    output_peepholes: tuple[str, ...] = ("none",)  # the model.output_peephole forms it has
    scan_forms: tuple[str, ...] = ("scan",)  # the model.scan_form choices it implements
    # (model cfg, the TaskSpec it is built for) -> (the most steps it runs, why), None: no limit
    step_limit: Callable[[Any, Any], tuple[int, str] | None] = _no_step_limit
    # Tasks only: the task.* fields besides name and length that the task reads.
    task_fields: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        return f"{self.name}[a:b]" if self.takes_arg else self.name


class Registry:
    """Maps names to factories. Duplicate names are an error; unknown names list the known."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, description: str, **traits) -> Callable[[Callable], Callable]:
        def decorator(factory: Callable) -> Callable:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = Entry(name, factory, description, **traits)
            return factory

        return decorator

    def get(self, name: str) -> Callable[..., Any]:
        return self.entry(name).factory

    def entry(self, name: str) -> Entry:
        base, arg = split_name(name)
        entry = self._entries.get(base)
        if entry is None or (arg is not None and not entry.takes_arg):
            valid = ", ".join(self._entries[n].display_name for n in self.names())
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid choices: {valid}")
        return entry

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        try:
            self.entry(name)
        except UnknownNameError:
            return False
        return True

    def describe(self) -> list[tuple[str, str]]:
        out = []
        for n in self.names():
            e = self._entries[n]
            sizes = f" (sizes: {', '.join(e.sizes)})" if e.sizes else ""
            fields = ", ".join(f"task.{f}" for f in e.task_fields)
            reads = f" (also reads {fields})" if fields else ""
            out.append((e.display_name, e.description + sizes + reads))
        return out


MODELS = Registry("model")
TASKS = Registry("task")
