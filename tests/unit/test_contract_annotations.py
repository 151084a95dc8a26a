"""Contracts keep real annotations: with ``from __future__ import annotations`` a dataclass nested
in another workflow's input (a payment's ``RiskTerms`` inside a wallet deposit's ``FundingInput``)
failed to decode in the workflow sandbox, and every deposit answered 503."""

from __future__ import annotations

from pathlib import Path

import contracts

CONTRACTS = Path(contracts.__file__).parent


def test_no_contract_module_postpones_its_annotations() -> None:
    postponed = [
        path.name
        for path in sorted(CONTRACTS.glob("*.py"))
        if path.name != "__init__.py" and "from __future__ import annotations" in path.read_text()
    ]
    assert postponed == []
