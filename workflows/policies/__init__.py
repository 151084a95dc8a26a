"""Pure, deterministic rules the workflows follow, one concern per module.

Nothing here reads the clock, the network, the database or settings, and nothing here calls
Temporal, so a workflow can ask any of it during replay and get the same answer, and a unit test
can ask it without a server.
"""
