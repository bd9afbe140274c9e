"""`mlgitops policy check` and `policy test`: ValidatingAdmissionPolicies over the rendered objects (policy/)."""

from __future__ import annotations

import os

from . import Outcome, UsageError, require_repo


def policy_dir(repo: str, policies: str | None) -> str:
    """The policy directory: `policies` when given, else policies/ in the repository."""
    require_repo(repo)
    return policies if policies is not None else os.path.join(repo, "policies")


def policy_check(paths: tuple[str, ...], *, repo: str = ".", policies: str | None = None) -> Outcome:
    """Every policy against `paths` (default: overlays/ rendered and argocd/)."""
    from ..policy.check import check
    from ..policy.waivers import today

    directory = policy_dir(repo, policies)
    try:
        day = today()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    result = check(list(paths), repo, directory, day=day)
    return Outcome("policy check", result.diagnostics, summary=result.summary(), rules=result.rules,
                   files=result.files, summary_line=result.summary_line())


def policy_test(*, repo: str = ".", policies: str | None = None, keyword: str | None = None) -> Outcome:
    """The policy test cases in policies/tests/ (only those matching `keyword`)."""
    from ..policy.testing import run_tests

    directory = policy_dir(repo, policies)
    result = run_tests(directory, repo, keyword=keyword)
    return Outcome("policy test", result.diagnostics, summary=result.summary(), 
                   files=result.files, summary_line=result.summary_line())
