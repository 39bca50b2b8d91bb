"""The only layer that touches Docker: a narrow typed interface over the `docker` CLI."""
