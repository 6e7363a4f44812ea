"""volmgr-volume: runs manage flows on one backend through its driver."""
