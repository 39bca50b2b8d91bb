"""The only layer that touches Docker: a narrow typed interface over the `docker` CLI.

`Engine` is the object use cases receive; every process it starts goes through its `Runner`
(`dockyard.engine.runner`), and `dockyard.engine.fake.FakeEngine` records calls for tests.
"""

from dockyard.engine._cmd import Engine

__all__ = ["Engine"]
