"""The shared vocabulary, one module per domain: what crosses a workflow boundary, named the same
way by the API's services, the workflows and the activities.

Frozen dataclasses and StrEnums only, so Temporal's JSON converter round-trips them exactly and a
workflow can never mutate a value it was handed. Money is integer minor units plus an ISO 4217
code. Contracts import nothing of Durapay's but other contracts and ``money`` (import-linter).

No ``from __future__ import annotations`` in these modules: Temporal's converter calls
``typing.get_type_hints`` on a dataclass every time it decodes one, and string annotations are
evaluated from source again each time (real annotations decode about 2.5 times faster).
"""
