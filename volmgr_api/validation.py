"""Checks on a manage request's fields: host, reference, name, description, metadata
(of a volume's manage, and of a snapshot's: :func:`snapshot_request`).

:func:`manage_request` turns the fields a caller sent (a REST body, the keyword
arguments of an RPC call) into a checked :class:`ManageRequest`; the limits it
applies are stated here or in ``[api]`` options, and the REST body schema reads
the same ones.
"""

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from oslo_config import cfg

from volmgr_common import exception
from volmgr_common.context import RequestContext
from volmgr_common.limits import STRING_WIDTH
from volmgr_common.manage_request import FIELDS, REQUIRED_FIELDS, ManageRequest, SnapshotRequest

HOST_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,200}@[A-Za-z0-9._-]{1,200}(#[A-Za-z0-9._-]{1,200})?$")
MAX_REFERENCE_BYTES = 4096
NAMING_KEYS = ("source-name", "source-id")
"""The keys of a reference that name the backend object (Cinder's)."""
MAX_REFERENCE_NAME = STRING_WIDTH
"""Longest ``source-name`` / ``source-id``, in characters."""
MAX_METADATA_KEY = STRING_WIDTH
"""Longest metadata key, in characters."""
MAX_METADATA_VALUE = STRING_WIDTH
"""Longest metadata value, in characters."""
PROJECT_ID = re.compile(r"^[^\s:,/]{1,255}$")
"""What a project id may look like: 1 to 255 characters, no blank, ':', ',' or '/'."""


def parse_host(host: Any) -> tuple[str, str | None]:
    """``host@backend[#pool]`` → (``host@backend``, pool or None); raises InvalidHost."""
    if not isinstance(host, str) or not HOST_PATTERN.fullmatch(host):
        raise exception.InvalidHost(
            host=host, reason="expected 'host@backend' or 'host@backend#pool'"
        )
    backend, _, pool = host.partition("#")
    return backend, pool or None


def check_reference(ref: Any) -> dict[str, Any]:
    if not isinstance(ref, dict) or not ref:
        raise exception.InvalidInput(
            reason='ref must be a non-empty object, e.g. {"source-name": "disk1"}'
        )
    if not all(isinstance(k, str) and k for k in ref):
        raise exception.InvalidInput(reason="ref keys must be non-empty strings")
    for key in NAMING_KEYS:
        value = ref.get(key)
        if key in ref and not (isinstance(value, str) and 0 < len(value) <= MAX_REFERENCE_NAME):
            raise exception.InvalidInput(
                reason=f"ref {key} must be a non-empty string of at most "
                f"{MAX_REFERENCE_NAME} characters"
            )
    try:
        encoded = json.dumps(ref, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise exception.InvalidInput(reason=f"ref is not plain JSON data: {error}") from error
    if len(encoded.encode()) > MAX_REFERENCE_BYTES:
        raise exception.InvalidInput(reason=f"ref is larger than {MAX_REFERENCE_BYTES} bytes")
    return ref


def check_text(field: str, value: Any, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise exception.InvalidInput(reason=f"{field} must be a string")
    if len(value) > max_length:
        raise exception.InvalidInput(reason=f"{field} is longer than {max_length} characters")
    return value


def check_metadata(metadata: Any, max_items: int) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise exception.InvalidInput(reason="metadata must be an object of strings")
    if len(metadata) > max_items:
        raise exception.InvalidInput(reason=f"metadata has more than {max_items} items")
    for key, value in metadata.items():
        if not isinstance(key, str) or not 0 < len(key) <= MAX_METADATA_KEY:
            raise exception.InvalidInput(
                reason=f"metadata keys must be strings of 1 to {MAX_METADATA_KEY} characters"
            )
        if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE:
            raise exception.InvalidInput(
                reason=f"metadata value of {key!r} must be a string of at most "
                f"{MAX_METADATA_VALUE} characters"
            )
    return dict(metadata)


def check_project_id(project_id: Any, field: str = "project_id") -> str:
    """``project_id`` if it looks like a project id (:data:`PROJECT_ID`); InvalidInput."""
    if not isinstance(project_id, str) or not PROJECT_ID.match(project_id):
        raise exception.InvalidInput(
            reason=f"{field} must be a project id: 1 to 255 characters, no blanks, ':', ',' or '/'"
        )
    return project_id


def request_project(ctxt: RequestContext) -> str:
    """The project a manage request is made for: the caller's, which must be named."""
    if not ctxt.project_id:
        raise exception.InvalidInput(reason="the request context names no project")
    return ctxt.project_id


def check_call_fields(
    call: str, fields: Mapping[str, Any], known: Sequence[str], required: Sequence[str]
) -> None:
    """TypeError (a caller's programming error, as a call with the wrong keyword
    arguments is) when ``fields`` of the RPC ``call`` name one that is not ``known``
    or lack one that is ``required``."""
    unknown = sorted(set(fields) - set(known))
    missing = [name for name in required if name not in fields]
    if unknown or missing:
        raise TypeError(f"{call}: unknown fields {unknown}, missing fields {missing}")


def manage_request(conf: cfg.ConfigOpts, fields: Mapping[str, Any]) -> ManageRequest:
    """The checked request of the fields a caller sent; raises InvalidHost or InvalidInput.

    Fields that are not a manage request's, or a missing host or ref, are a caller's
    programming error (TypeError), as a call with the wrong keyword arguments is.
    ``volume_type`` and ``availability_zone`` are checked where they are resolved,
    against the database (the API flow's ExtractManageRequest).
    """
    check_call_fields("manage_existing", fields, FIELDS, REQUIRED_FIELDS)
    parse_host(fields["host"])
    ref = check_reference(fields["ref"])
    bootable = fields.get("bootable", False)
    if not isinstance(bootable, bool):
        raise exception.InvalidInput(reason="bootable must be true or false")
    name = check_text("name", fields.get("name"), conf.api.max_name_length)
    description = check_text(
        "description", fields.get("description"), conf.api.max_description_length
    )
    metadata = check_metadata(fields.get("metadata"), conf.api.max_metadata_items)
    with_snapshots = fields.get("with_snapshots", False)
    if not isinstance(with_snapshots, bool):
        raise exception.InvalidInput(reason="with_snapshots must be true or false")
    return ManageRequest(
        host=fields["host"],
        ref=ref,
        name=name,
        description=description,
        volume_type=fields.get("volume_type"),
        availability_zone=fields.get("availability_zone"),
        metadata=metadata,
        bootable=bootable,
        with_snapshots=with_snapshots,
    )


UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)


def snapshot_request(conf: cfg.ConfigOpts, fields: Mapping[str, Any]) -> SnapshotRequest:
    """The checked request to manage a snapshot (``volume_id``, ``ref``, ``name``,
    ``description``, ``metadata``); raises InvalidInput naming what is wrong."""
    volume_id = fields.get("volume_id")
    if not isinstance(volume_id, str) or not UUID_RE.fullmatch(volume_id):
        raise exception.InvalidInput(reason="volume_id must be the UUID of a volume")
    return SnapshotRequest(
        volume_id=volume_id,
        ref=check_reference(fields.get("ref")),
        name=check_text("name", fields.get("name"), conf.api.max_name_length),
        description=check_text(
            "description", fields.get("description"), conf.api.max_description_length
        ),
        metadata=check_metadata(fields.get("metadata"), conf.api.max_metadata_items),
    )
