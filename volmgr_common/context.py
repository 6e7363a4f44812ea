"""Request context: who asks, in which project, under which request id.

The context travels with every RPC message (see ``volmgr_common.rpc``) so that the
log lines of all three services carry the request id of the request they serve.
"""

from typing import Any

from oslo_context import context


class RequestContext(context.RequestContext):
    """oslo.context's request context; ``is_admin`` follows the ``admin`` role.

    ``detached=True`` builds a context that does not become the thread's current
    one. (oslo.context makes every new context current when the thread has none,
    even with ``overwrite=False``, and offers no public way to clear it again.)
    """

    def __init__(self, *, detached: bool = False, **kwargs: Any) -> None:
        roles = kwargs.get("roles") or []
        kwargs.setdefault("is_admin", "admin" in roles)
        self._detached = detached
        super().__init__(**kwargs)
        self._detached = False

    def update_store(self) -> None:
        """Make this the thread's current context (not while a detached one is built)."""
        if not self._detached:
            super().update_store()

    @classmethod
    def from_dict(cls, values: dict[str, Any], **kwargs: Any) -> "RequestContext":
        return super().from_dict(values, **kwargs)


def get_admin_context(request_id: str | None = None) -> RequestContext:
    """A context for work that a service does on its own behalf.

    It does not become the thread's current context, so log lines outside a
    request carry no stray request id.
    """
    kwargs: dict[str, Any] = {
        "user_id": None,
        "project_id": None,
        "roles": ["admin"],
        "is_admin": True,
        "overwrite": False,
    }
    if request_id:
        kwargs["request_id"] = request_id
    return RequestContext(detached=True, **kwargs)
