"""``python -m api``: the API under uvicorn on the settings' host and port (its access log is
Durapay's own), leaving as every process holding a Temporal connection does
(``services.temporal_connection.leave_process``) once uvicorn has shut the app down."""

from __future__ import annotations

import uvicorn

from services.temporal_connection import leave_process
from settings import get_settings


def main() -> None:
    settings = get_settings()
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        access_log=False,
    )
    leave_process(0)


if __name__ == "__main__":
    main()
