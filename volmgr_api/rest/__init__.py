"""The REST face of volmgr-api: a Cinder v3 compatible subset served over WSGI.

``app.RestApp`` is volmgr's own app (routing, authentication, microversions,
faults); ``deploy.build_pipeline`` puts oslo.middleware in front of it (request id,
proxy headers, CORS, body size, ``/healthcheck``); ``server.build_wsgi_service``
runs that pipeline in the built-in threaded HTTP server next to the RPC server of
volmgr-api, ``volmgr_api.wsgi`` hands it to a WSGI server.
"""
