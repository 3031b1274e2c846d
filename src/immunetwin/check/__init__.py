"""Conformance checks against external references (the SBML Test Suite)."""

from immunetwin.check._sbml_suite import (
    CaseResult as CaseResult,
    read_case_list as read_case_list,
    run_case as run_case,
    run_suite as run_suite,
)

__all__ = ["CaseResult", "read_case_list", "run_case", "run_suite"]
