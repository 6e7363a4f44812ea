"""Flows that volmgr-volume runs."""
