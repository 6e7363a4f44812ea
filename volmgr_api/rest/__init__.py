"""The REST face of volmgr-api: a Cinder v3 compatible subset served over WSGI.

``app.build_app`` assembles the WSGI application (routing, authentication,
microversions, faults); ``server.build_wsgi_service`` runs it in a threaded HTTP
server next to the RPC server of volmgr-api.
"""
