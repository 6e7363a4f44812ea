"""``GET resource_filters`` (3.33+): the filters a user may use on each listing.

What python-cinderclient shows for ``cinder list --filters``; ``resource`` narrows
the answer to one resource (an unknown one gives an empty list, as in Cinder).
"""

from volmgr_api.rest.filters import RESOURCE_FILTERS
from volmgr_api.rest.params import Params
from volmgr_api.rest.request import ApiRequest, Reply


def index(req: ApiRequest) -> Reply:
    params = Params(req.webob.GET, None)
    wanted = params.get("resource")
    chosen = {
        name: list(filters)
        for name, filters in RESOURCE_FILTERS.items()
        if not wanted or name == wanted
    }
    body = [{"resource": name, "filters": filters} for name, filters in chosen.items()]
    return Reply(200, {"resource_filters": body})
