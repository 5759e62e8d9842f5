"""The web console on ``console.port`` (7351): server-rendered pages over the same core services as the API.

It runs in one process of a server (the only one, or worker 0 of several): the pages read and change
shared state only through core services, which keep the other processes and nodes coherent.
"""
