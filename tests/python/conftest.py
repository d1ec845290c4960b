"""Fixtures of the Python client tests: generated stubs, and a real attnserve-server on
127.0.0.1 serving the golden models (bert-tiny as "g", marian-tiny as "t", the cross-encoder
fixtures bert-ce-tiny as "ce" and mpnet-multilabel-tiny as "ml")."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY_CLIENT = os.path.join(ROOT, "client", "python")
DATA = os.path.join(ROOT, "tests", "data")


def _server_binary():
    """ATTNSERVE_SERVER_BIN, else attnserve-server in ATTNSERVE_BIN_DIR or build/bin."""
    if os.environ.get("ATTNSERVE_SERVER_BIN"):
        return os.environ["ATTNSERVE_SERVER_BIN"]
    bin_dir = os.environ.get("ATTNSERVE_BIN_DIR", os.path.join(ROOT, "build", "bin"))
    return os.path.join(bin_dir, "attnserve-server")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def attnserve_client():
    """The attnserve_client package, with its stubs generated from this checkout's proto/."""
    subprocess.run([os.path.join(PY_CLIENT, "generate_stubs.sh")], check=True,
                   capture_output=True)
    sys.path.insert(0, PY_CLIENT)
    import attnserve_client
    return attnserve_client


class ServerProcess:
    def __init__(self, *flags):
        exe = _server_binary()
        if not os.access(exe, os.X_OK):
            pytest.fail("%s is missing: build the attnserve-server target" % exe)
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="pyclient-server-", suffix=".log",
                                               delete=False)
        self.proc = subprocess.Popen(
            [exe, "--host=127.0.0.1", "--port=%d" % self.port,
             "--metrics_address=127.0.0.1", "--metrics_port=%d" % _free_port(),
             "--model=g=" + os.path.join(DATA, "bert-tiny"),
             "--model=t=" + os.path.join(DATA, "marian-tiny"),
             "--model=ce=" + os.path.join(DATA, "cross-encoders", "bert-ce-tiny"),
             "--model=ml=" + os.path.join(DATA, "cross-encoders", "mpnet-multilabel-tiny"),
             "--threads=1"] + list(flags),
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.target = "127.0.0.1:%d" % self.port

    def wait_serving(self, client_module, wait=90):
        c = client_module.Client(self.target, timeout=2)
        t0, last = time.time(), "no answer"
        try:
            while time.time() - t0 < wait:
                if self.proc.poll() is not None:
                    pytest.fail("server exited with %s: %s" % (self.proc.returncode, self.tail()))
                try:
                    if c.health() == "SERVING":
                        return
                except client_module.AttnserveError as e:
                    last = e.code.name
                time.sleep(0.2)
        finally:
            c.close()
        pytest.fail("server not SERVING within %ds (%s): %s" % (wait, last, self.tail()))

    def tail(self, n=2000):
        with open(self.log.name, errors="replace") as f:
            return f.read()[-n:]

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="session")
def server(attnserve_client):
    s = ServerProcess()
    try:
        s.wait_serving(attnserve_client)
        yield s
    finally:
        s.stop()


@pytest.fixture
def client(attnserve_client, server):
    with attnserve_client.Client(server.target, timeout=60) as c:
        yield c


def golden_cases(model):
    """The cases.json of tests/data/<model> (e.g. "cross-encoders/bert-ce-tiny")."""
    with open(os.path.join(DATA, model, "cases.json")) as f:
        return json.load(f)


def golden_case(model, name):
    with open(os.path.join(DATA, model, "cases.json")) as f:
        for case in json.load(f)["cases"]:
            if case["name"] == name:
                return case
    raise KeyError("%s/cases.json has no case %s" % (model, name))


def golden_tensor(model, name):
    import numpy as np
    with open(os.path.join(DATA, model, "tensors.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header[name]
    dtype = {"F32": np.float32, "I64": np.int64}[meta["dtype"]]
    a, b = meta["data_offsets"]
    return np.frombuffer(data[a:b], dtype=dtype).reshape(meta["shape"])
