"""The payload converter every test client and worker uses: Temporal's JSON with each payload
encrypted under the dev key, as the worker and the API encrypt them (``services.payload_codec``)."""

from __future__ import annotations

from services.payload_codec import data_converter
from settings import Environment, Settings

TEST_CONVERTER = data_converter(Settings(environment=Environment.TEST))
