#!/usr/bin/env python3
"""diff_encoders.py restricted to BERT (kept for the commands that name it): same options,
--arch defaults to bert."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diff_encoders  # noqa: E402

if __name__ == "__main__":
    diff_encoders.main(default_arch="bert")
