"""Use cases: each joins detection, spec, generators and the engine for one command."""
