"""Request context: who asks, in which project, under which request id.

The context travels with every RPC message (see ``volmgr_common.rpc``) so that the
log lines of all three services carry the request id of the request they serve.
"""

from typing import Any

from oslo_context import context


class RequestContext(context.RequestContext):
    """oslo.context's request context; ``is_admin`` follows the ``admin`` role."""

    def __init__(self, **kwargs: Any) -> None:
        roles = kwargs.get("roles") or []
        kwargs.setdefault("is_admin", "admin" in roles)
        super().__init__(**kwargs)

    @classmethod
    def from_dict(cls, values: dict[str, Any], **kwargs: Any) -> "RequestContext":
        return super().from_dict(values, **kwargs)


def get_admin_context(request_id: str | None = None) -> RequestContext:
    """A context for work that a service does on its own behalf.

    It does not become the thread's current context (oslo.context would make it so
    when there is none), so log lines outside a request carry no stray request id.
    """
    previous = context.get_current()
    kwargs: dict[str, Any] = {
        "user_id": None,
        "project_id": None,
        "roles": ["admin"],
        "is_admin": True,
        "overwrite": False,
    }
    if request_id:
        kwargs["request_id"] = request_id
    admin = RequestContext(**kwargs)
    if previous is None:
        context._request_store.context = None
    return admin
