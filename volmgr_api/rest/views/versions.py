"""The version document of ``GET /`` and ``GET /v3/``, as Cinder answers it."""

from typing import Any

from volmgr_api.rest import microversion

UPDATED = "2023-08-31T00:00:00Z"
"""When the newest microversion served (3.71) was published, as Cinder dates it."""


def versions(base_url: str) -> dict[str, Any]:
    return {
        "versions": [
            {
                "id": "v3.0",
                "status": "CURRENT",
                "version": str(microversion.MAX),  # the version negotiate() serves up to
                "min_version": microversion.MIN_VERSION,
                "updated": UPDATED,
                "links": [
                    {
                        "rel": "describedby",
                        "type": "text/html",
                        "href": "https://docs.openstack.org/",
                    },
                    {"rel": "self", "href": f"{base_url}/v3/"},
                ],
                "media-types": [
                    {
                        "base": "application/json",
                        "type": "application/vnd.openstack.volume+json;version=3",
                    }
                ],
            }
        ]
    }
