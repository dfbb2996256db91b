"""The tasks features register: a name, what people call it, the outcomes it reports, and the function.

    @task("audit.verify", _l("Audit chain check"), outcomes={"intact": _l("...%(num)d...")}, run_now=True)
    def verify(ctx: Context) -> Outcome: ...

A task gets a Context: who asked (an Actor), the job's argument, and progress(done, total), which
commits the task's work so far with its progress (pages read it at once). It returns an Outcome (a code
of its outcomes and a number) or None; it raises JobFailed to end failed with an outcome of its own
(a broken audit chain), any other exception to end failed with only the exception's class kept.
This module imports no feature: features import it, and create_app imports their task modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from msc.db import session, utcnow
from msc.jobs.models import Job
from msc.security.actor import Actor


@dataclass(frozen=True)
class Outcome:
    """What a run came to, in words the page translates: a code of the task's outcomes and its number."""

    code: str
    count: int | None = None


class JobFailed(Exception):
    """A task found something wrong (a check that did not pass): the job ends failed with this outcome."""

    def __init__(self, code: str, count: int | None = None):
        super().__init__(code)
        self.outcome = Outcome(code, count)


@dataclass
class Context:
    """What a running task may use: who asked, its argument, and a way to say how far it got."""

    job: Job
    user: Actor

    @property
    def argument(self) -> str | None:
        return self.job.argument

    def progress(self, done: int, total: int | None = None) -> None:
        """Record how far the task got and commit (with whatever the task did so far)."""
        self.job.done = done
        if total is not None:
            self.job.total = total
        self.job.updated_at = utcnow()
        session.commit()


TaskFunction = Callable[[Context], Outcome | None]


@dataclass(frozen=True)
class Task:
    """A registered task."""

    name: str
    #: what the pages call it (a lazy translation)
    title: Any
    func: TaskFunction
    #: outcome code -> sentence with %(num)d (lazy translations)
    outcomes: Mapping[str, Any] = field(default_factory=dict)
    #: offered as "run now" on the jobs page
    run_now: bool = False
    #: a frequent routine (each minute): its finished runs are left off the jobs page unless they failed
    routine: bool = False
    #: a configuration key that must be true for the schedule to queue it (RETENTION_AUTO)
    enabled_by: str | None = None


_TASKS: dict[str, Task] = {}


def task(
    name: str,
    title: Any,
    *,
    outcomes: Mapping[str, Any] | None = None,
    run_now: bool = False,
    routine: bool = False,
    enabled_by: str | None = None,
) -> Callable[[TaskFunction], TaskFunction]:
    """Register a function as the task `name` (once per process; registering a name again replaces it)."""

    def decorator(func: TaskFunction) -> TaskFunction:
        _TASKS[name] = Task(name, title, func, dict(outcomes or {}), run_now, routine, enabled_by)
        return func

    return decorator


def get(name: str) -> Task:
    """The registered task of this name (KeyError if none)."""
    return _TASKS[name]


def known(name: str) -> bool:
    return name in _TASKS


def all_tasks() -> list[Task]:
    """Every registered task, by name."""
    return [_TASKS[n] for n in sorted(_TASKS)]
