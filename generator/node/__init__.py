"""Talking to a Sesam node: the client, the local config folder, plan, deploy, and a local emulator.

``client``   HTTP client for the node API (credentials, retries, redaction of the JWT)
``folder``   reads a node config folder (``pipes/``, ``systems/``, ...) as written by ``generate``
``plan``     normalises both sides and computes add/change/remove per ``_id``
``deploy``   uploads one config group atomically, verifies it, waits for it to deploy
``metadata`` the separate, planned node-metadata step of ``--metadata``
``problems`` a node's ``validation_errors`` as problems at local files and lines
``emulator`` a local node on 127.0.0.1 that follows the public swagger, for tests and benchmarks
"""
