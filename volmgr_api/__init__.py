"""volmgr-api: accepts manage requests and records their outcome."""
