"""`cairn server` settings from a YAML file, CAIRN_* environment variables and
flags, in that rising order of precedence, and its structured JSON log lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import requests

from conftest import BINARY, free_port


def start(args, env_extra, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env.update(env_extra)
    log = open(tmp_path / f"server-{time.monotonic_ns()}.log", "w+")
    proc = subprocess.Popen([str(BINARY), "server", *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, log


def answering(port, deadline=20.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.1)
    return False


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_flags_beat_environment_beats_config_file(tmp_path):
    file_port, env_port, flag_port = free_port(), free_port(), free_port()
    config = tmp_path / "cairn.yaml"
    config.write_text(f"port: {file_port}\ndata_dir: {tmp_path / 'from-file'}\nlog_level: debug\n")

    # The file alone.
    proc, _ = start(["--config", str(config)], {}, tmp_path)
    try:
        assert answering(file_port)
        assert (tmp_path / "from-file").is_dir()
    finally:
        stop(proc)
    # The environment over the file (CAIRN_CONFIG names the file too).
    proc, _ = start([], {"CAIRN_CONFIG": str(config), "CAIRN_PORT": str(env_port)}, tmp_path)
    try:
        assert answering(env_port)
    finally:
        stop(proc)
    # A flag over both.
    proc, log = start(["--config", str(config), "--port", str(flag_port), "--log-level", "info"],
                      {"CAIRN_PORT": str(env_port)}, tmp_path)
    try:
        assert answering(flag_port)
    finally:
        stop(proc)
    # Every log line is one JSON object with a time, a level and a message.
    log.seek(0)
    lines = [json.loads(line) for line in log.read().splitlines() if line.strip()]
    assert lines, "the server logged nothing"
    for entry in lines:
        assert {"ts", "level", "msg"} <= set(entry), entry
    listening = [e for e in lines if e["msg"] == "cairn server listening"]
    assert listening and str(flag_port) in json.dumps(listening[0]), lines
    assert not any(e["level"] == "debug" for e in lines), "--log-level info hides debug lines"


def test_a_bad_config_file_names_the_file_line_and_key(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("host: 127.0.0.1\nport: not-a-number\n")
    proc, log = start(["--config", str(config)], {}, tmp_path)
    assert proc.wait(timeout=30) != 0
    log.seek(0)
    text = log.read()
    assert "bad.yaml line 2" in text and "'port'" in text and "0 to 65535" in text, text
    assert "not-a-number" in text, text
