"""Runs generate_stubs.sh before packaging, so the generated _gen/ modules are built from the
checkout's proto/ at install time and never committed."""
import os
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithStubs(build_py):
    def run(self):
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run([os.path.join(here, "generate_stubs.sh")], check=True)
        # The stub packages did not exist when setuptools listed the packages.
        self.packages = sorted(set(self.packages or []) | {
            "attnserve_client._gen", "attnserve_client._gen.attnserve",
            "attnserve_client._gen.attnserve.v1", "attnserve_client._gen.grpc",
            "attnserve_client._gen.grpc.health", "attnserve_client._gen.grpc.health.v1"})
        super().run()


setup(cmdclass={"build_py": BuildWithStubs})
