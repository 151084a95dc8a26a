"""The worker runs its workflows outside Temporal's sandbox (``worker.WORKFLOW_RUNNER``), so it
no longer validates them at start as a sandboxed worker does. This test does instead: each
workflow the worker registers loads under the strict, default sandbox, whose restrictions refuse
a non-deterministic call made while its module loads."""

from __future__ import annotations

import pytest
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.workflow import _Definition

from worker import WORKFLOWS


@pytest.mark.parametrize("workflow_class", WORKFLOWS, ids=lambda cls: cls.__name__)
async def test_the_strict_sandbox_accepts_every_workflow_the_worker_runs(
    workflow_class: type,
) -> None:
    SandboxedWorkflowRunner().prepare_workflow(_Definition.must_from_class(workflow_class))
