"""Issue 8, item 13: a model file pinned by its SHA-256 (``[serve] sha256`` in dockyard.toml,
``DOCKYARD_MODEL_SHA256`` in the image) — loading a pickle runs code stored in it, so the
server refuses any other file before unpickling it."""

from __future__ import annotations

import hashlib
import time

from test_serve_process import Server


def test_server_refuses_a_model_file_other_than_the_pinned_one(tmp_path, rf_path):
    wrong = Server({"DOCKYARD_MODEL": str(rf_path), "DOCKYARD_MODEL_SHA256": "0" * 64}, tmp_path)
    assert wrong.proc.wait(timeout=30) == 3
    time.sleep(0.1)
    log = "".join(wrong.log)
    assert "refusing to load it" in log and "0" * 64 in log

    digest = hashlib.sha256(rf_path.read_bytes()).hexdigest()
    right = Server({"DOCKYARD_MODEL": str(rf_path), "DOCKYARD_MODEL_SHA256": digest}, tmp_path)
    try:
        right.wait_ready()
    finally:
        assert right.stop() == 0


def test_a_malformed_pin_is_a_configuration_error(tmp_path, rf_path):
    server = Server({"DOCKYARD_MODEL": str(rf_path), "DOCKYARD_MODEL_SHA256": "abc"}, tmp_path)
    assert server.proc.wait(timeout=30) == 2
    time.sleep(0.1)
    assert "DOCKYARD_MODEL_SHA256 must be 64 hex digits" in "".join(server.log)
