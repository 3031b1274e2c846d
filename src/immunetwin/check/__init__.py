"""Conformance checks against external references (the SBML Test Suite)."""

from immunetwin.check._sbml_suite import (
    CaseResult as CaseResult,
)
from immunetwin.check._sbml_suite import (
    read_case_list as read_case_list,
)
from immunetwin.check._sbml_suite import (
    run_case as run_case,
)
from immunetwin.check._sbml_suite import (
    run_suite as run_suite,
)

__all__ = ["CaseResult", "read_case_list", "run_case", "run_suite"]
