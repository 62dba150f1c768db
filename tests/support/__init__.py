"""Helpers the tests share (systems, nodes, specs and mutations to test with); no test lives here, and no
product code imports them."""
