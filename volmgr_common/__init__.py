"""Code shared by the volmgr services: config, context, RPC, database, quota, flows."""

import warnings

# oslo.messaging imports oslo.service, which imports eventlet and warns that it is
# deprecated. volmgr never uses eventlet (threading executor, no monkey-patching).
warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
