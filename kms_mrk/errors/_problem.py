"""ValidationProblem: one broken rule of a :class:`~kms_mrk.errors.ParamValidationError`.

In a module of its own, imported when a first problem is found (or the name is asked
for): building an attrs class costs a fraction of a millisecond that a process whose
calls are valid need not pay at start.
"""

from __future__ import annotations

import attrs

__all__ = ["ValidationProblem"]


@attrs.frozen(slots=True)
class ValidationProblem:
    """One broken rule: ``path`` names the member with wire names (``Tags[2].TagKey``)."""

    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}" if self.path else self.rule
