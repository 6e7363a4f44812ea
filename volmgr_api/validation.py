"""Checks on a manage request's fields: host, reference, name, description, metadata."""

import json
import re
from typing import Any

from oslo_config import cfg

from volmgr_common import exception

HOST_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,200}@[A-Za-z0-9._-]{1,200}(#[A-Za-z0-9._-]{1,200})?$")
MAX_REFERENCE_BYTES = 4096
MAX_METADATA_KEY = 255
MAX_METADATA_VALUE = 255


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


def check_request_fields(
    conf: cfg.ConfigOpts, name: Any, description: Any, metadata: Any, bootable: Any
) -> tuple[str | None, str | None, dict[str, str], bool]:
    """The validated name, description, metadata and bootable flag."""
    if not isinstance(bootable, bool):
        raise exception.InvalidInput(reason="bootable must be true or false")
    return (
        check_text("name", name, conf.api.max_name_length),
        check_text("description", description, conf.api.max_description_length),
        check_metadata(metadata, conf.api.max_metadata_items),
        bootable,
    )
