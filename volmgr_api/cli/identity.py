"""Who ``volmgr`` is: a keystoneauth identity, a clouds.yaml cloud, or noauth headers.

* ``--os-cloud NAME`` (``OS_CLOUD``): the cloud of that name in clouds.yaml, loaded
  as the OpenStack client loads it (openstacksdk's config loader);
* ``--os-auth-type PLUGIN`` (``OS_AUTH_TYPE``; ``password`` when ``OS_AUTH_URL`` is
  set): a keystoneauth plugin with its ``--os-*`` options and ``OS_*`` variables;
* else noauth: ``--user`` and ``--project`` (``OS_USER_ID``, ``OS_PROJECT_ID``) must
  be given; nobody is an administrator by default.

The endpoint is ``--endpoint`` (``VOLMGR_ENDPOINT``), else the catalog's
block-storage endpoint, else (noauth) http://127.0.0.1:8776.
"""

import argparse
import os
from collections.abc import Sequence

from keystoneauth1 import loading
from keystoneauth1 import session as ks_session

from volmgr_api.cli.client import DEFAULT_ENDPOINT, Client

NOAUTH = "noauth"
SERVICE_TYPE = "block-storage"


class IdentityError(Exception):
    """The identity options do not name a usable identity (one line for the user)."""


def _auth_type(argv: Sequence[str]) -> str:
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--os-auth-type", "--os-auth-plugin", dest="auth_type")
    given = peek.parse_known_args(list(argv))[0].auth_type or os.environ.get("OS_AUTH_TYPE")
    return given or ("password" if os.environ.get("OS_AUTH_URL") else NOAUTH)


def add_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """The identity and endpoint options; a keystoneauth plugin's only when it is chosen."""
    env = os.environ.get
    group = parser.add_argument_group("identity")
    group.add_argument(
        "--endpoint",
        default=env("VOLMGR_ENDPOINT"),
        help="The API, http://HOST:PORT (a /v3 or /v3/PROJECT ending is ignored); env "
        f"VOLMGR_ENDPOINT (default: the catalog's {SERVICE_TYPE} endpoint, with noauth "
        f"{DEFAULT_ENDPOINT}).",
    )
    group.add_argument(
        "--os-cloud",
        default=env("OS_CLOUD"),
        metavar="NAME",
        help="A cloud of clouds.yaml; env OS_CLOUD (default: none).",
    )
    group.add_argument(
        "--user",
        default=env("OS_USER_ID"),
        help="noauth: the user id; env OS_USER_ID (default: none, it must be given).",
    )
    group.add_argument(
        "--project",
        default=env("OS_PROJECT_ID"),
        help="noauth: the project id; env OS_PROJECT_ID (default: none, it must be given).",
    )
    group.add_argument(
        "--roles",
        default=env("VOLMGR_ROLES"),
        help="noauth: comma-separated roles, e.g. admin; env VOLMGR_ROLES (default: none).",
    )
    auth_type = _auth_type(argv)
    if auth_type == NOAUTH:
        group.add_argument(
            "--os-auth-type",
            "--os-auth-plugin",
            default=NOAUTH,
            metavar="PLUGIN",
            help="noauth, or a keystoneauth plugin (password, token, v3applicationcredential, "
            "...) whose --os-* options then appear in this help; env OS_AUTH_TYPE "
            f"(default: {NOAUTH}, or password when OS_AUTH_URL is set).",
        )
    else:
        loading.register_auth_argparse_arguments(parser, list(argv), default=auth_type)


def connect(args: argparse.Namespace) -> Client:
    """A client for the identity and endpoint the options name."""
    if args.os_cloud:
        return _cloud(args)
    if args.os_auth_type == NOAUTH:
        if not args.user or not args.project:
            raise IdentityError(
                "noauth needs a user and a project: --user and --project, or OS_USER_ID "
                "and OS_PROJECT_ID (or a Keystone identity: --os-cloud, --os-auth-type)"
            )
        return Client.noauth(args.endpoint or DEFAULT_ENDPOINT, args.user, args.project, args.roles)
    auth = loading.load_auth_from_argparse_arguments(args)
    return _with_session(args, ks_session.Session(auth=auth))


def _with_session(args: argparse.Namespace, session: ks_session.Session) -> Client:
    endpoint = args.endpoint or session.get_endpoint(service_type=SERVICE_TYPE, interface="public")
    project = session.get_project_id()
    if not endpoint or not project:
        raise IdentityError("the identity names no project, or the catalog no block-storage")
    return Client(endpoint, project, session=session)


def _cloud(args: argparse.Namespace) -> Client:
    import openstack.config  # imported only for clouds.yaml: it takes a while to load
    from openstack import exceptions as sdk_exceptions

    try:
        region = openstack.config.OpenStackConfig().get_one(cloud=args.os_cloud)
    except sdk_exceptions.ConfigException as error:
        raise IdentityError(str(error)) from None
    return _with_session(args, region.get_session())
