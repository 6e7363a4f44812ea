"""The typed values of an adoption plan request, and the volume-name template.

A :class:`PlanRequest` is built and checked in volmgr-api (``volmgr_api.adoption``),
travels to the backend's volume service as a plain dict (``to_wire``/``from_wire``)
and is planned there (``volmgr_volume.planner``). Plain data only: this module
imports nothing of volmgr's daemons.

A name template renders each volume's display name from the object it adopts:
``{source-name}`` (the object's name on the backend), ``{size-gb}`` (its size in
whole GiB) and ``{position}`` (its place in the plan, from 1); ``{{`` and ``}}``
stand for literal braces.
"""

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from volmgr_common import exception

TEMPLATE_KEYS = ("source-name", "size-gb", "position")
"""The keys a name template may use."""
DEFAULT_NAME_TEMPLATE = "{source-name}"
_TOKEN = re.compile(r"\{\{|\}\}|\{[^{}]*\}")

# Why an object is skipped: the first words of an item's reason, counted in the totals.
NOT_SAFE = "not safe"
ALREADY_MANAGED = "already managed"
BEING_MANAGED = "being managed"
VOLUME_TYPE = "volume type"
NAME = "name"
QUOTA_EXCEEDED = "quota exceeded"


KEYS_TEXT = ", ".join("{" + key + "}" for key in TEMPLATE_KEYS)


def _literal(text: str) -> tuple[bool, str]:
    if "{" in text or "}" in text:
        raise exception.InvalidInput(
            reason="name_template: unbalanced brace; write {{ or }} for a literal one"
        )
    return False, text


def _pieces(template: str) -> list[tuple[bool, str]]:
    """``(is_key, text)`` pieces of ``template``; InvalidInput when it is malformed."""
    pieces: list[tuple[bool, str]] = []
    start = 0
    for match in _TOKEN.finditer(template):
        pieces.append(_literal(template[start : match.start()]))
        token = match.group()
        if token in ("{{", "}}"):
            pieces.append((False, token[0]))
        elif token[1:-1] in TEMPLATE_KEYS:
            pieces.append((True, token[1:-1]))
        else:
            raise exception.InvalidInput(
                reason=f"name_template: unknown key {token}; the keys are {KEYS_TEXT}"
            )
        start = match.end()
    pieces.append(_literal(template[start:]))
    return pieces


def check_template(template: str) -> None:
    """InvalidInput unless ``template`` is a usable name template."""
    _pieces(template)


class NameTemplate:
    """A name template parsed once (InvalidInput if malformed), rendered per object."""

    def __init__(self, template: str) -> None:
        self._pieces = _pieces(template)

    def render(self, values: Mapping[str, Any]) -> str:
        """The template with each key replaced by ``values[key]``."""
        return "".join(str(values[text]) if is_key else text for is_key, text in self._pieces)


def render(template: str, values: Mapping[str, Any]) -> str:
    """``template`` rendered once (see :class:`NameTemplate`)."""
    return NameTemplate(template).render(values)


@dataclasses.dataclass(frozen=True)
class PlanFilters:
    """Which objects of the backend a plan covers (every one by default)."""

    name: str | None = None
    """An fnmatch glob the object's name must match (case-sensitive)."""
    min_size: int | None = None
    """Smallest size in whole GiB (an object's size rounds up)."""
    max_size: int | None = None
    safe_only: bool = False
    """Only objects the manageable listing calls safe (skips for other reasons stay)."""


@dataclasses.dataclass(frozen=True)
class PlanRequest:
    """A plan to make on one backend, as volmgr-api checked and resolved it."""

    plan_id: str
    host: str
    """The host or cluster as the caller named it."""
    backend: str
    """The backend the rows go on (a cluster's name for any of its members)."""
    project_id: str
    user_id: str | None
    target_project_id: str
    volume_type: dict[str, Any]
    """The type's ``id``, ``name`` and ``extra_specs``."""
    filters: PlanFilters = PlanFilters()
    name_template: str = DEFAULT_NAME_TEMPLATE
    description: str | None = None
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    bootable: bool = False

    def values(self) -> dict[str, Any]:
        """What each manage of the plan takes besides its object (the plan's ``values``)."""
        return {
            "name_template": self.name_template,
            "description": self.description,
            "metadata": dict(self.metadata),
            "bootable": self.bootable,
        }

    def to_wire(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> "PlanRequest":
        fields = dict(wire)
        fields["filters"] = PlanFilters(**fields.get("filters", {}))
        return cls(**fields)
