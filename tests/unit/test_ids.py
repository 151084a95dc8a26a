"""Derived IDs name stored rows and workflow histories: the values are pinned, so a change to the
derivation that would rename existing rows fails here first."""

from __future__ import annotations

from db.ids import derive_hex_id, derive_id
from db.repositories.ledger import AccountKey


def test_derived_ids_keep_the_values_stored_rows_carry() -> None:
    assert derive_id("aud_", "rec_1", "run-1", "4") == "aud_34kilsci5r4olagugcfgt656"
    assert derive_id("aud_", "", "", "1") == "aud_ssrtvdqhwtjmlylvovtref5w"
    assert derive_hex_id("evt_", "pay_1:payment.succeeded") == "evt_09415b55b0a79d1eb0d1ce88"
    assert derive_hex_id("wha_", "whd_evt_1_we_1:3") == "wha_ba214ff445b73bc154c31eed"
    key = AccountKey("acct_1", "cus_1", "credits", "CREDITS")
    assert key.id == "la_df8816240e41c4304ec8606d"


def test_parts_cannot_blur_into_each_other() -> None:
    assert derive_id("x_", "a", "bc") != derive_id("x_", "ab", "c")
    assert derive_hex_id("x_", "a", "bc") != derive_hex_id("x_", "ab", "c")
