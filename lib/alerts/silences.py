"""Silences: label matchers with a start, an end, an author and a comment (Alertmanager's
model); a silenced alert still changes state and is listed, but notifies nobody."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Matcher", "Silence", "silenced"]


@dataclass(frozen=True)
class Matcher:
    """``name`` equal to (or, ``is_regex``, fully matching) ``value``; ``is_equal`` False
    negates it."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        hit = (re.fullmatch(self.value, actual) is not None) if self.is_regex \
            else actual == self.value
        return hit == self.is_equal

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex,
                "isEqual": self.is_equal}


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: int
    ends_at: int
    created_by: str
    comment: str
    created_at: int

    def active(self, at: int) -> bool:
        return self.starts_at <= at < self.ends_at

    def status(self, at: int) -> str:
        return "pending" if at < self.starts_at else ("active" if at < self.ends_at
                                                      else "expired")

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "matchers": [m.as_dict() for m in self.matchers],
                "starts_at": self.starts_at, "ends_at": self.ends_at,
                "created_by": self.created_by, "comment": self.comment,
                "created_at": self.created_at}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Silence:
        return cls(str(data["id"]), tuple(
            Matcher(m["name"], m["value"], bool(m.get("isRegex", False)),
                    bool(m.get("isEqual", True))) for m in data["matchers"]),
            int(data["starts_at"]), int(data["ends_at"]), str(data["created_by"]),
            str(data["comment"]), int(data.get("created_at", data["starts_at"])))


def silenced(silences: Sequence[Silence], labels: Mapping[str, str], at: int) -> bool:
    """Whether an active silence matches ``labels`` at ``at``."""
    return any(s.active(at) and s.matches(labels) for s in silences)
