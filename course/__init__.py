"""Instructor tooling: building student and solution notebooks, and grading fixes.

Not part of cnnlib (students never import it); used by the Makefile, the tests and
nbgrader_config.py.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
