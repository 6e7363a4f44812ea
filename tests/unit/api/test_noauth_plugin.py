"""The ``volmgr-noauth`` keystoneauth plugin, loaded by name as clients load it."""

from keystoneauth1 import loading
from keystoneauth1 import session as ks_session

ENDPOINT = "http://127.0.0.1:8776/v3"


def plugin(**options: str) -> loading.BaseLoader:
    loader = loading.get_plugin_loader("volmgr-noauth")
    return loader.load_from_options(endpoint=ENDPOINT, user_id="alice", project_id="p1", **options)


def test_the_identity_and_catalog_are_the_given_ones() -> None:
    auth = plugin()
    session = ks_session.Session(auth=auth)
    access = auth.get_access(session)
    assert (access.user_id, access.project_id) == ("alice", "p1")
    assert not access.will_expire_soon()
    for service_type in ("block-storage", "volumev3"):
        urls = access.service_catalog.get_urls(service_type=service_type, interface="public")
        assert urls == (ENDPOINT,)


def test_headers_are_the_ones_volmgr_noauth_reads() -> None:
    session = ks_session.Session()
    assert plugin().get_headers(session) == {
        "X-Auth-Token": "alice:p1",
        "X-User-Id": "alice",
        "X-Project-Id": "p1",
    }
    assert plugin(roles="admin, reader").get_headers(session)["X-Roles"] == "admin,reader"
