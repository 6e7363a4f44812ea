"""Prometheus metrics: a manage and REST requests counted, served on a daemon's port and
under the WSGI path."""

import urllib.request

import webob
from prometheus_client import REGISTRY

from tests.functional.rest.conftest import Rest, fresh_admin
from volmgr_api.rest import deploy
from volmgr_common import metrics


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_manage_is_counted_at_the_api_and_the_volume_service(rest: Rest) -> None:
    accepted = _value("volmgr_manages_total", stage="api", outcome="accepted")
    available = _value("volmgr_manages_total", stage="volume", outcome="available")
    flows = _value("volmgr_manage_flow_seconds_count")
    posts = _value("volmgr_api_requests_total", method="POST", status="202")
    rest.manage(headers=fresh_admin())
    assert _value("volmgr_manages_total", stage="api", outcome="accepted") == accepted + 1
    assert _value("volmgr_manages_total", stage="volume", outcome="available") == available + 1
    assert _value("volmgr_manage_flow_seconds_count") == flows + 1
    assert _value("volmgr_api_requests_total", method="POST", status="202") == posts + 1
    assert _value("volmgr_manage_flows_in_flight") == 0
    assert _value("volmgr_api_requests_in_flight") == 0


def test_a_refused_manage_and_a_failed_one_are_counted(rest: Rest) -> None:
    refused = _value("volmgr_manages_total", stage="api", outcome="refused")
    failed = _value("volmgr_manages_total", stage="volume", outcome="error_managing")
    headers = fresh_admin()
    body = rest.manage_body("no-such-file.img")
    body["volume"]["volume_type"] = "no-such-type"
    assert rest.call("POST", "os-volume-manage", body, headers=headers).status_int == 400
    response = rest.call(
        "POST", "os-volume-manage", rest.manage_body("absent.img"), headers=headers
    )
    assert response.status_int == 202
    assert rest.wait_status(response.json["volume"]["id"], headers=headers)["status"] == "error"
    assert _value("volmgr_manages_total", stage="api", outcome="refused") == refused + 1
    assert _value("volmgr_manages_total", stage="volume", outcome="error_managing") == failed + 1


def test_a_daemon_serves_its_metrics_on_its_port(rest: Rest) -> None:
    rest.conf.set_override("port", 0, group="metrics")
    server = metrics.MetricsServer(rest.conf, ["volmgr-api"])
    try:
        server.start()
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=10) as answer:
            text = answer.read().decode()
    finally:
        server.stop()
        rest.conf.clear_override("port", group="metrics")
    assert "volmgr_manages_total" in text
    assert "volmgr_api_request_seconds_bucket" in text
    assert "volmgr_rpc_queue_messages" in text  # no sample on the in-process transport


def test_the_wsgi_pipeline_serves_metrics_under_its_path(rest: Rest) -> None:
    app = deploy.build_pipeline(rest.conf, rest.api, {"/metrics": metrics.wsgi_app()})
    response = webob.Request.blank("/metrics").get_response(app)
    assert response.status_int == 200
    assert "volmgr_api_requests_in_flight" in response.text
