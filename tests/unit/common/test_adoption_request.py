"""The name template of adoption plans and the plan request's round trip over RPC."""

import pytest

from volmgr_common import adoption, exception
from volmgr_common.adoption import NameTemplate, PlanFilters, PlanRequest

VALUES = {"source-name": "disk1.img", "size-gb": 3, "position": 7}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{source-name}", "disk1.img"),
        ("vol-{position:}", None),
        ("{source-name}-{size-gb}G-#{position}", "disk1.img-3G-#7"),
        ("{{literal}} {source-name}", "{literal} disk1.img"),
        ("no keys at all", "no keys at all"),
    ],
)
def test_templates_render_or_are_refused(template: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(exception.InvalidInput, match="unknown key"):
            adoption.check_template(template)
        return
    assert NameTemplate(template).render(VALUES) == expected


@pytest.mark.parametrize("template", ["{", "}", "a{b", "{source-name", "x}}}", "{}"])
def test_unbalanced_or_empty_braces_are_refused(template: str) -> None:
    with pytest.raises(exception.InvalidInput, match="name_template"):
        adoption.check_template(template)


def test_a_plan_request_crosses_rpc_as_plain_data() -> None:
    request = PlanRequest(
        plan_id="p",
        host="h@b",
        backend="h@b",
        project_id="a",
        user_id=None,
        target_project_id="t",
        volume_type={"id": "1", "name": "gold", "extra_specs": {"k": "v"}},
        filters=PlanFilters(name="d*", min_size=1, max_size=None, safe_only=True),
        metadata={"k": "v"},
    )
    assert PlanRequest.from_wire(request.to_wire()) == request
