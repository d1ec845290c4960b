"""Runs OUR implementation (attnserve-server) for the differential tests and talks gRPC to it.

The server command is a template (--ours) with the placeholders {port}, {metrics_port},
{name} and {folder}; the default starts build/bin/attnserve-server on 127.0.0.1 with ephemeral
ports. Python stubs are generated from proto/attnserve/v1/attnserve.proto with Debian's protoc
and grpc_python_plugin into a temporary directory (nothing is written into the checkout).
"""
import collections
import importlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OURS = (os.path.join(ROOT, "build", "bin", "attnserve-server") +
                " --port={port} --metrics_port={metrics_port} --model={name}={folder}")


def add_arguments(parser):
    parser.add_argument("--ours", default=DEFAULT_OURS,
                        help="server command template; placeholders {port} {metrics_port} "
                             "{name} {folder} (default: %(default)s)")
    parser.add_argument("--startup_timeout", type=float, default=120)
    parser.add_argument("--reference_only", action="store_true",
                        help="build the configs and run the HF reference only (no server)")


_stubs = None


def stubs():
    """(attnserve_pb2, attnserve_pb2_grpc), compiled once per process into a temp dir."""
    global _stubs
    if _stubs is None:
        out = tempfile.mkdtemp(prefix="oracle-stubs-")
        cmd = ["protoc", "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
               "-I" + os.path.join(ROOT, "proto"), "--python_out=" + out,
               "--grpc_python_out=" + out, os.path.join(ROOT, "proto", "attnserve", "v1",
                                                        "attnserve.proto")]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("protoc failed (needs Debian's protobuf-compiler and protobuf-compiler-grpc): "
                     + r.stderr.strip())
        sys.path.insert(0, out)
        _stubs = (importlib.import_module("attnserve.v1.attnserve_pb2"),
                  importlib.import_module("attnserve.v1.attnserve_pb2_grpc"))
    return _stubs


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server process serving `folder` as model `name`; stopped with SIGTERM on exit."""

    def __init__(self, template, folder, name="m", startup_timeout=120):
        import grpc
        self.pb, rpc = stubs()
        self.name = name
        port, metrics_port = free_port(), free_port()
        argv = shlex.split(template.format(port=port, metrics_port=metrics_port, name=name,
                                           folder=folder))
        if not os.access(argv[0], os.X_OK):
            sys.exit("%s is not executable: build the server first or pass --ours" % argv[0])
        self.log = tempfile.NamedTemporaryFile(prefix="oracle-server-", suffix=".log",
                                               delete=False)
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.channel = grpc.insecure_channel("127.0.0.1:%d" % port)
        self.stub = rpc.InferenceStub(self.channel)
        self._wait_ready(startup_timeout)

    def _wait_ready(self, timeout):
        import grpc
        deadline, last = time.time() + timeout, "no answer"
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s: %s" % (self.proc.returncode, self.tail()))
            try:
                info = self.stub.GetModel(self.pb.GetModelRequest(name=self.name), timeout=2)
                if info.state == self.pb.MODEL_STATE_READY:
                    return
                if info.state == self.pb.MODEL_STATE_FAILED:
                    raise RuntimeError("model failed to load: " + info.error)
                last = "state %d" % info.state
            except grpc.RpcError as e:
                last = str(e.code())
            time.sleep(0.2)
        raise RuntimeError("server not ready within %.0fs (%s): %s" % (timeout, last, self.tail()))

    def tail(self, n=400):
        try:
            with open(self.log.name, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def close(self):
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        os.unlink(self.log.name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Report:
    """Counts comparisons; prints failures as they happen and a closing 'N passed, N failed'."""

    def __init__(self):
        self.passed, self.failed, self.warnings = 0, 0, 0
        # feature -> [passed, failed]; a comparison counts under each of its features
        self.by_feature = collections.defaultdict(lambda: [0, 0])

    def check(self, ok, what, detail="", feature=None):
        for f in [feature] if isinstance(feature, str) else feature or []:
            self.by_feature[f][0 if ok else 1] += 1
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL %s %s" % (what, detail), flush=True)

    def warn(self, what, detail=""):
        self.warnings += 1
        print("WARN %s %s" % (what, detail), flush=True)

    def finish(self):
        if self.by_feature:
            print("per feature (a comparison counts under each of its features):")
            for feature in sorted(self.by_feature):
                print("  %-38s %5d passed %4d failed" % (feature, *self.by_feature[feature]))
        print("%d passed, %d failed" % (self.passed, self.failed) +
              (" (%d warnings: near-ties in the reference)" % self.warnings if self.warnings else ""))
        sys.exit(1 if self.failed else 0)


def for_each_config(args, kind, run_one):
    """Calls run_one(index, folder) for args.configs fresh model folders in a temp dir (kept
    with --keep), then prints the report's summary and exits with its status."""
    report = Report()
    tmp = tempfile.mkdtemp(prefix="diff-%s-" % kind)
    try:
        for index in range(args.configs):
            folder = os.path.join(tmp, "%s-%d" % (kind, index))
            os.makedirs(folder)
            run_one(index, folder, report)
    finally:
        if args.keep:
            print("model folders kept in", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    report.finish()


def with_server(args, folder, index, report, use):
    """Serves folder with our server and calls use(server); a start-up failure is a FAIL."""
    try:
        with Server(args.ours, folder, startup_timeout=args.startup_timeout) as server:
            use(server)
    except RuntimeError as e:
        report.check(False, "config %d server" % index, str(e))
