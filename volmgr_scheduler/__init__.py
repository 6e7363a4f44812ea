"""volmgr-scheduler: checks that a backend can take a volume and hands it over."""
