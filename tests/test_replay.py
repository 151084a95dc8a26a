"""Replay committed workflow histories against today's workflow code.

A change that would make a running workflow's history non-deterministic fails here, before it
can reach a worker; such changes must go behind ``workflow.patched``. Payment histories are
recorded from a running dev stack with ``python -m tests.support.record_histories`` (the
reviewed one, ``review_approved``, by its ``reviewed_and_approved`` on the tests' stack); the
subscription and dunning ones from the soft-decline scenario of
``tests/integration/workflows/test_dunning.py`` on the time-skipping server (first period paid,
renewal declined twice, recovered on the second retry), saved with
``WorkflowHandle.fetch_history().to_json()``. The ``*_encrypted`` ones (a 3-D Secure payment,
a save-card and a subscription charged at once) were recorded with
``python -m tests.support.record_histories --encrypted`` after payloads were encrypted: the
replayer decrypts them with the dev key; the older ones are plain and pass through the codec.
The ledger's (``wallet_deposit``,
``credits_purchase``: FundingWorkflow; ``wallet_withdrawal``: two deposits of 20.00 and 80.00, a
30.00 withdrawal refunding 20.00 then 10.00) come from the same script's ``ledger`` cases.
The webhook delivery ones come from the fake endpoints of
``tests/workflows/test_webhook_delivery.py`` (a 500 then a 200; three days of failures),
recorded the same way (plain).
``dunning_operator_retry_joined`` comes from
``tests/integration/workflows/test_dunning_retry.py`` (two operator retries, the second joining
the first's charge) and ``reconciliation_outside_charge`` from ``tests/e2e/test_reconciliation.py``
(a run finding a charge made outside Durapay), and ``paypal_lost_create_found_by_lookup`` from
``tests/e2e/test_paypal_lost_create.py`` (the patched give-up path), saved the same way.
``card_local_first_*`` (a card paid, a card declined, and a create refused once with a 503 that
continued as a normal activity) were saved the same way from the tests' stack after the charge
moved to local activities (``workflows/provider_calls.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.support.codec import TEST_CONVERTER, payloads_in, unencrypted
from worker import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
ENCRYPTED = [path for path in HISTORIES if path.stem.endswith("_encrypted")]


def test_there_are_committed_histories() -> None:
    assert len(HISTORIES) >= 3


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=TEST_CONVERTER)
    await replayer.replay_workflow(history)


@pytest.mark.parametrize("path", ENCRYPTED, ids=[p.stem for p in ENCRYPTED])
def test_histories_recorded_since_encryption_are_ciphertext(path: Path) -> None:
    history = json.loads(path.read_text())
    assert len(list(payloads_in(history))) > 5
    assert unencrypted(history) == []
