"""volmgr-all: the API, scheduler and volume services in one process (``cmd.py``)."""
