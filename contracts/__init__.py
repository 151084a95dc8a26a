"""The shared vocabulary, one module per domain: what crosses a workflow boundary and what the
API, services, workflows and activities all name the same way. See ARCHITECTURE.md."""
