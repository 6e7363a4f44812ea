"""The SQL database shared by all volmgr services: models, transactions, queries."""
