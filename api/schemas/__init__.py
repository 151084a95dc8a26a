"""Request and response models, one module per domain (api-contract.md)."""
