"""Flows that volmgr-api runs."""
