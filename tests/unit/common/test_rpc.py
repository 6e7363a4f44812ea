"""Unit tests of the RPC boundary: client/server contracts, the context, exceptions.

The clients (``volmgr_*.rpcapi``) are driven against a recording stand-in for
``rpc.Messaging``, so every message they would send is checked against the server
endpoint that would receive it: the method exists and takes those arguments, the
version is one the server answers, and call/cast is what the docstring promises.
"""

import inspect
import json
import sys
from collections.abc import Callable
from typing import Any, cast

import oslo_messaging as messaging
import pytest
from oslo_context import context as oslo_context
from oslo_messaging import _utils as messaging_utils
from oslo_messaging._drivers import common as driver_common

from tests.fault_plugin import FaultInjected
from volmgr_api import rpcapi as api_rpcapi
from volmgr_api.manager import ApiManager
from volmgr_common import context, exception, rpc, rpc_versions
from volmgr_common.adoption import PlanRequest
from volmgr_common.manage_request import ManageRequest, RequestSpec
from volmgr_common.page_request import PageRequest
from volmgr_scheduler import rpcapi as scheduler_rpcapi
from volmgr_scheduler.manager import SchedulerManager
from volmgr_volume import rpcapi as volume_rpcapi
from volmgr_volume.manager import VolumeManager

CTXT = context.RequestContext(user_id="user-a", project_id="project-a", roles=["member"])
INTERFACES = [
    (api_rpcapi, api_rpcapi.ApiAPI, ApiManager),
    (scheduler_rpcapi, scheduler_rpcapi.SchedulerAPI, SchedulerManager),
    (volume_rpcapi, volume_rpcapi.VolumeAPI, VolumeManager),
]
SAMPLE_ARGS: dict[str, Any] = {
    "host": "node1@files#pool0",
    "ref": {"source-name": "disk1"},
    "volume_id": "vol-1",
    "request": ManageRequest(host="node1@files#pool0", ref={"source-name": "disk1"}),
    "request_spec": RequestSpec(host="node1@files"),
    "capabilities": {"pools": []},
    "reason": "it broke",
    "stage": "volume",
    "manages": [(CTXT, "vol-1"), (CTXT, "vol-2")],
    "requests": [
        (CTXT, "vol-1", RequestSpec(host="node1@files")),
        (CTXT, "vol-2", RequestSpec(host="x")),
    ],
    "page": PageRequest(marker="disk1", limit=10, offset=2, sort=(("size", "desc"),)),
    "plan_request": PlanRequest(
        plan_id="plan-1",
        host="node1@files",
        backend="node1@files",
        project_id="project-a",
        user_id="user-a",
        target_project_id="project-b",
        volume_type={"id": "type-1", "name": "gold", "extra_specs": {}},
    ),
}


class Sent:
    """One message a client sent: how, where, at which version, with what."""

    def __init__(
        self, kind: str, method: str, kwargs: dict[str, Any], target: dict[str, Any]
    ) -> None:
        self.kind = kind
        self.method = method
        self.kwargs = kwargs
        self.target = target


class RecordingClient:
    """Stands in for ``messaging.RPCClient``: keeps what would have been sent.

    With a ``version_cap`` it answers ``can_send_version`` as oslo.messaging does
    and refuses, as oslo.messaging does, to send a version above the cap.
    """

    def __init__(self, log: list[Sent], version_cap: str | None = None, **target: Any) -> None:
        self.log = log
        self.version_cap = version_cap
        self.target = target

    def prepare(self, **overrides: Any) -> "RecordingClient":
        return RecordingClient(self.log, self.version_cap, **{**self.target, **overrides})

    def can_send_version(self, version: str) -> bool:
        return self.version_cap is None or messaging_utils.version_is_compatible(
            self.version_cap, version
        )

    def _check_cap(self) -> None:
        if not self.can_send_version(self.target["version"]):
            raise messaging.RPCVersionCapError(self.target["version"], self.version_cap)

    def call(self, ctxt: Any, method: str, **kwargs: Any) -> Any:
        self._check_cap()
        self.log.append(Sent("call", method, kwargs, self.target))
        return None

    def cast(self, ctxt: Any, method: str, **kwargs: Any) -> None:
        self._check_cap()
        self.log.append(Sent("cast", method, kwargs, self.target))


class RecordingMessaging:
    """Stands in for ``rpc.Messaging`` when a client is built."""

    def __init__(self, caps: dict[str, str] | None = None) -> None:
        self.sent: list[Sent] = []
        self.caps = caps or {}

    def client(
        self,
        topic: str,
        version: str,
        server: str | None = None,
        fanout: bool = False,
        timeout: int | None = None,
        retry: int | None = None,
        upgrade_level: str | None = None,
    ) -> RecordingClient:
        cap = self.caps.get(upgrade_level) if upgrade_level else None
        return RecordingClient(
            self.sent, cap, topic=topic, version=version, server=server, fanout=fanout
        )


def client_methods() -> list[tuple[Any, type, type, str]]:
    return [
        (module, client_cls, endpoint_cls, name)
        for module, client_cls, endpoint_cls in INTERFACES
        for name, _ in inspect.getmembers(client_cls, inspect.isfunction)
        if not name.startswith("_")
    ]


def send_all(client_cls: type, name: str, caps: dict[str, str] | None = None) -> list[Sent]:
    """Call one client method with sample arguments; returns every message it sent."""
    recorder = RecordingMessaging(caps)
    client = client_cls(cast(rpc.Messaging, recorder))
    method: Callable[..., Any] = getattr(client, name)
    params = list(inspect.signature(method).parameters.values())[1:]  # after ctxt
    args = {p.name: SAMPLE_ARGS.get(p.name, "x") for p in params if p.default is p.empty}
    method(CTXT, **args)
    return recorder.sent


def send(client_cls: type, name: str) -> Sent:
    """Call one client method with sample arguments; returns the one message it sent."""
    [message] = send_all(client_cls, name)
    return message


@pytest.mark.parametrize(("module", "client_cls", "endpoint_cls"), INTERFACES)
def test_client_version_equals_the_server_version(
    module: Any, client_cls: type, endpoint_cls: type
) -> None:
    assert endpoint_cls.target.version == module.RPC_API_VERSION


@pytest.mark.parametrize(
    ("module", "client_cls", "endpoint_cls", "name"),
    client_methods(),
    ids=[f"{c.__name__}.{n}" for _m, c, _e, n in client_methods()],
)
def test_every_client_message_is_one_the_server_answers(
    module: Any, client_cls: type, endpoint_cls: type, name: str
) -> None:
    message = send(client_cls, name)
    assert message.target["topic"] == module.TOPIC
    assert messaging_utils.version_is_compatible(
        endpoint_cls.target.version, message.target["version"]
    )
    handler = getattr(endpoint_cls, message.method)
    inspect.signature(handler).bind(None, CTXT, **message.kwargs)
    assert hasattr(handler, "__wrapped__"), f"{message.method} is not a remote_boundary"
    json.dumps(message.kwargs)  # plain data only, never ORM rows


@pytest.mark.parametrize(
    ("module", "client_cls", "endpoint_cls", "name"),
    client_methods(),
    ids=[f"{c.__name__}.{n}" for _m, c, _e, n in client_methods()],
)
def test_docstrings_say_call_or_cast_and_version(
    module: Any, client_cls: type, endpoint_cls: type, name: str
) -> None:
    message = send(client_cls, name)
    doc = inspect.getdoc(getattr(client_cls, name)) or ""
    expected = {
        ("call", False): "Call",
        ("cast", False): "Cast",
        ("cast", True): "Fanout cast",
    }[(message.kind, bool(message.target.get("fanout")))]
    assert doc.startswith(f"{expected} ({message.target['version']})"), doc


OLDEST_CAPS = {"api": "1.0", "scheduler": "1.0", "volume": "1.0"}
WITHOUT_FALLBACK = {
    (volume_rpcapi.VolumeAPI, "manage_existing_snapshot"): ("volume", "1.2"),
    (volume_rpcapi.VolumeAPI, "unmanage_snapshot"): ("volume", "1.2"),
    (volume_rpcapi.VolumeAPI, "get_manageable_snapshots"): ("volume", "1.2"),
    (volume_rpcapi.VolumeAPI, "audit"): ("volume", "1.3"),
    (volume_rpcapi.VolumeAPI, "list_orphans"): ("volume", "1.4"),
    (volume_rpcapi.VolumeAPI, "create_adoption_plan"): ("volume", "1.5"),
    (volume_rpcapi.VolumeAPI, "create_adoption_job"): ("volume", "1.6"),
    (volume_rpcapi.VolumeAPI, "run_adoption_job"): ("volume", "1.6"),
    (api_rpcapi.ApiAPI, "manage_existing_snapshot"): ("api", "1.1"),
    (api_rpcapi.ApiAPI, "get_snapshot"): ("api", "1.1"),
    (api_rpcapi.ApiAPI, "unmanage_snapshot"): ("api", "1.1"),
    (api_rpcapi.ApiAPI, "manage_existing_snapshot_failed"): ("api", "1.1"),
    (api_rpcapi.ApiAPI, "list_orphans"): ("api", "1.2"),
    (api_rpcapi.ApiAPI, "readopt_orphan"): ("api", "1.2"),
}
"""Client methods that an older server cannot do at all, with the ``[upgrade_levels]``
option and version they need: under a lower cap they are refused (naming
``[upgrade_levels]``) and send nothing."""


def older_methods() -> list[tuple[Any, type, type, str]]:
    """The client methods that have a 1.0 form."""
    return [m for m in client_methods() if (m[1], m[3]) not in WITHOUT_FALLBACK]


@pytest.mark.parametrize(
    ("module", "client_cls", "endpoint_cls", "name"),
    older_methods(),
    ids=[f"{c.__name__}.{n}" for _m, c, _e, n in older_methods()],
)
def test_under_the_oldest_caps_every_method_sends_what_a_1_0_server_answers(
    module: Any, client_cls: type, endpoint_cls: type, name: str
) -> None:
    """A service of the first release answers 1.0 only: every client method that has a
    1.0 form still works under ``[upgrade_levels]`` caps of 1.0, and sends only 1.0
    methods."""
    messages = send_all(client_cls, name, OLDEST_CAPS)
    assert messages
    for message in messages:
        assert message.target["version"] == "1.0"
        handler = getattr(endpoint_cls, message.method)
        inspect.signature(handler).bind(None, CTXT, **message.kwargs)


@pytest.mark.parametrize(("client_cls", "name"), sorted(WITHOUT_FALLBACK, key=str))
def test_under_the_oldest_caps_a_newer_method_refuses_and_sends_nothing(
    client_cls: type, name: str
) -> None:
    with pytest.raises(
        (exception.SnapshotsNotSupported, exception.ServiceUnavailable, exception.InvalidInput),
        match="upgrade_levels",
    ):
        send_all(client_cls, name, OLDEST_CAPS)


@pytest.mark.parametrize(
    ("client_cls", "name", "items"),
    [
        (scheduler_rpcapi.SchedulerAPI, "manage_existing_batch", "requests"),
        (volume_rpcapi.VolumeAPI, "manage_existing_batch", "manages"),
    ],
)
def test_a_capped_batch_becomes_one_1_0_cast_per_request(
    client_cls: type, name: str, items: str
) -> None:
    uncapped = send_all(client_cls, name)
    capped = send_all(client_cls, name, OLDEST_CAPS)
    assert [(m.method, m.target["version"]) for m in uncapped] == [(name, "1.1")]
    assert [(m.kind, m.method) for m in capped] == [("cast", "manage_existing")] * len(
        SAMPLE_ARGS[items]
    )
    assert [m.kwargs["volume_id"] for m in capped] == ["vol-1", "vol-2"]


@pytest.mark.parametrize(("client_method", "needed"), sorted(WITHOUT_FALLBACK.items(), key=str))
def test_a_method_without_fallback_is_sent_at_the_cap_that_allows_it(
    client_method: tuple[type, str], needed: tuple[str, str]
) -> None:
    client_cls, name = client_method
    level, version = needed
    [message] = send_all(client_cls, name, {**OLDEST_CAPS, level: version})
    assert (message.method, message.target["version"]) == (name, version)


def test_volume_messages_go_to_the_backend_not_the_pool() -> None:
    message = send(volume_rpcapi.VolumeAPI, "manage_existing")
    assert message.target["server"] == "node1@files"


# -- the request context ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "is_admin"), [(["member", "reader"], False), (["admin"], True), ([], False)]
)
def test_serializer_round_trips_the_context(roles: list[str], is_admin: bool) -> None:
    serializer = rpc.RequestContextSerializer()
    sent = context.RequestContext(
        user_id="user-a", project_id="project-a", roles=roles, request_id="req-123"
    )
    wire = json.loads(json.dumps(serializer.serialize_context(sent)))
    received = serializer.deserialize_context(wire)
    assert isinstance(received, context.RequestContext)
    assert (received.request_id, received.user_id, received.project_id) == (
        "req-123",
        "user-a",
        "project-a",
    )
    assert received.roles == roles
    assert received.is_admin is is_admin
    assert oslo_context.get_current() is received


def test_serializer_passes_entities_through() -> None:
    serializer = rpc.RequestContextSerializer()
    entity = {"id": "vol-1", "size": 3}
    assert serializer.deserialize_entity(CTXT, serializer.serialize_entity(CTXT, entity)) == entity


def test_admin_context_is_admin_without_a_project() -> None:
    admin = context.get_admin_context(request_id="req-9")
    assert admin.is_admin and admin.project_id is None and admin.request_id == "req-9"


# -- exceptions at the boundary --------------------------------------------------------


class Endpoint:
    @rpc.remote_boundary
    def run(self, ctxt: context.RequestContext, action: Callable[[], Any]) -> Any:
        """Do ``action`` inside the boundary."""
        return action()


def raising(error: BaseException) -> Callable[[], Any]:
    def action() -> Any:
        raise error

    return action


def cross(error: BaseException) -> messaging.ExpectedException:
    with pytest.raises(messaging.ExpectedException) as raised:
        Endpoint().run(CTXT, raising(error))
    return raised.value


def test_remote_boundary_returns_results_untouched() -> None:
    assert Endpoint().run(CTXT, lambda: {"id": "vol-1"}) == {"id": "vol-1"}
    assert Endpoint.run.__doc__ == "Do ``action`` inside the boundary."


def test_a_whitelisted_exception_crosses_as_expected() -> None:
    error = exception.VolumeNotFound(volume_id="vol-1")
    carried = cross(error)
    assert carried.exc_info[0] is exception.VolumeNotFound
    assert carried.exc_info[1] is error


@pytest.mark.parametrize(
    "error",
    [
        KeyError("volume_type"),
        RuntimeError("password=secret"),
        FaultInjected(point="X"),
        exception.VolmgrException("not for callers"),
        exception.Invalid(reason="base class, not whitelisted"),
    ],
    ids=["KeyError", "RuntimeError", "FaultInjected", "VolmgrException", "Invalid"],
)
def test_any_other_exception_becomes_internal_error(error: BaseException) -> None:
    carried = cross(error)
    assert carried.exc_info[0] is exception.InternalError
    internal = carried.exc_info[1]
    assert str(internal) == (
        f"Internal error while handling request {CTXT.request_id}; see the service log."
    )
    assert "secret" not in str(internal)


def sample(exc_cls: type[exception.VolmgrException]) -> exception.VolmgrException:
    return exc_cls(
        reason="r",
        host="node1@files",
        volume_id="vol-1",
        volume_type="gold",
        zone="az1",
        ref={"source-name": "disk1"},
        request_id="req-1",
        requested=3,
        resource="gigabytes",
        project_id="project-a",
        limit=1,
        in_use=0,
        reserved=0,
        status="available",
        expected="managing",
        attempts=11,
        snapshot_id="snap-1",
        backend="node1@files",
        name="volume-1",
        plan_id="plan-1",
        job_id="job-1",
        count=2,
        summary="disk1: size_bytes",
    )


@pytest.mark.parametrize(
    "exc_cls", exception.REMOTE_EXCEPTIONS, ids=[c.__name__ for c in exception.REMOTE_EXCEPTIONS]
)
def test_whitelisted_exceptions_live_in_volmgr_common_exception(
    exc_cls: type[exception.VolmgrException],
) -> None:
    assert exc_cls.__module__ == exception.__name__
    assert issubclass(exc_cls, exception.VolmgrException)
    assert exc_cls.__module__ in rpc.ALLOWED_EXMODS
    assert getattr(sys.modules[exception.__name__], exc_cls.__name__) is exc_cls


@pytest.mark.parametrize(
    "exc_cls", exception.REMOTE_EXCEPTIONS, ids=[c.__name__ for c in exception.REMOTE_EXCEPTIONS]
)
def test_whitelisted_exceptions_are_raised_again_in_the_caller(
    exc_cls: type[exception.VolmgrException],
) -> None:
    carried = cross(sample(exc_cls))
    wire = driver_common.serialize_remote_exception(carried.exc_info)
    received = driver_common.deserialize_remote_exception(wire, rpc.ALLOWED_EXMODS)
    original = carried.exc_info[1]
    assert isinstance(received, exc_cls)
    assert isinstance(received, exception.VolmgrException)
    # oslo.messaging appends the server's traceback to str(); ``msg`` is the message.
    assert received.msg == original.msg
    assert received.kwargs == original.kwargs
    assert received.code == original.code
    assert "%(" not in received.msg


class Recorder:
    """An endpoint that records whether its method ran."""

    def __init__(self) -> None:
        self.ran = False

    @rpc.remote_boundary
    def store(self, ctxt: context.RequestContext, *args: Any, **kwargs: Any) -> None:
        self.ran = True


@pytest.mark.parametrize(
    ("args", "kwargs", "where"),
    [
        (("a\x00b",), {}, "argument 0 contains a NUL character at position 1"),
        ((), {"name": "\ud800"}, "name contains a lone surrogate code point at position 0"),
        ((), {"ref": {"source-name": "x\x00"}}, "ref['source-name'] contains a NUL"),
        ((), {"metadata": {"k\x00": "v"}}, "a key of metadata contains a NUL"),
        ((), {"requests": [{"volume_id": "ok"}, {"volume_id": "\x00"}]}, "requests[1]"),
    ],
    ids=["positional", "surrogate", "nested", "dict key", "list"],
)
def test_unstorable_text_is_refused_before_the_method_runs(
    args: tuple[Any, ...], kwargs: dict[str, Any], where: str
) -> None:
    endpoint = Recorder()
    with pytest.raises(messaging.ExpectedException) as raised:
        endpoint.store(CTXT, *args, **kwargs)
    assert raised.value.exc_info[0] is exception.InvalidInput
    assert where in str(raised.value.exc_info[1])
    assert endpoint.ran is False


def test_an_unstorable_caller_project_is_refused() -> None:
    endpoint = Recorder()
    caller = context.RequestContext(user_id="u", project_id="p\x00")
    with pytest.raises(messaging.ExpectedException) as raised:
        endpoint.store(caller, name="fine")
    assert "the caller's project id contains a NUL" in str(raised.value.exc_info[1])
    assert endpoint.ran is False
    endpoint.store(CTXT, name="fine", ref={"source-name": "disk é"}, sizes=[1, 2.5, None])
    assert endpoint.ran is True


def release_caps() -> list[tuple[str, Any, type, str]]:
    """``(release, module, client class, method)`` for every release before this one."""
    older = [r for r in rpc_versions.RELEASES if r != rpc_versions.CURRENT_RELEASE]
    return [(release, *method[:2], method[3]) for release in older for method in client_methods()]


@pytest.mark.parametrize(
    ("release", "module", "client_cls", "name"),
    release_caps(),
    ids=[f"{r}-{c.__name__}.{n}" for r, _m, c, n in release_caps()],
)
def test_under_an_older_release_caps_a_method_sends_what_it_knows_or_refuses(
    release: str, module: Any, client_cls: type, name: str
) -> None:
    """``[upgrade_levels] <api> = <release>``: a method that release's services know is
    sent at a version they answer (a newer one falls back); one they do not know is
    refused before anything is sent (a 4xx naming ``[upgrade_levels]``), never sent."""
    caps = {api: rpc_versions.resolve(api, release) or "" for api in rpc_versions.API_BINARIES}
    cap = caps[module.UPGRADE_LEVEL]
    try:
        messages = send_all(client_cls, name, caps)
    except (
        exception.SnapshotsNotSupported,
        exception.ServiceUnavailable,
        exception.InvalidInput,
    ) as refused:
        assert "upgrade_levels" in str(refused) and refused.code == 400
        return
    assert messages
    for message in messages:
        assert not rpc_versions.newer(message.target["version"], cap), (release, message.method)


def test_a_chain_manage_is_sent_as_1_3_with_with_snapshots() -> None:
    recorder = RecordingMessaging(None)
    client = api_rpcapi.ApiAPI(cast(rpc.Messaging, recorder))
    client.manage_existing(CTXT, "n@b", {"source-name": "d"}, with_snapshots=True)
    [message] = recorder.sent
    assert (message.method, message.target["version"]) == ("manage_existing", "1.3")
    assert message.kwargs["with_snapshots"] is True
    handler = ApiManager.manage_existing
    inspect.signature(handler).bind(None, CTXT, **message.kwargs)


@pytest.mark.parametrize("caps", [{"api": "1.2"}, {"api": "1.0"}])
def test_a_chain_manage_under_an_older_api_cap_is_refused_and_nothing_sent(
    caps: dict[str, str],
) -> None:
    recorder = RecordingMessaging({**OLDEST_CAPS, **caps})
    client = api_rpcapi.ApiAPI(cast(rpc.Messaging, recorder))
    with pytest.raises(exception.InvalidInput, match="upgrade_levels"):
        client.manage_existing(CTXT, "n@b", {"source-name": "d"}, with_snapshots=True)
    assert recorder.sent == []


@pytest.mark.parametrize(("cap", "refused"), [("1.6", True), ("1.0", True), ("1.7", False)])
def test_chain_manages_need_volume_services_of_1_7(cap: str, refused: bool) -> None:
    recorder = RecordingMessaging({**OLDEST_CAPS, "volume": cap})
    client = volume_rpcapi.VolumeAPI(cast(rpc.Messaging, recorder))
    if refused:
        with pytest.raises(exception.InvalidInput, match=r"1\.7"):
            volume_rpcapi.check_chains(client, "n@b#p")
    else:
        volume_rpcapi.check_chains(client, "n@b#p")
    assert recorder.sent == []
