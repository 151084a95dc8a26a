"""Between the routes (and the ``durapay`` command) and the database and Temporal: one module per
domain loads and checks what a request needs, builds the workflow input and asks the workflow by
name. See ARCHITECTURE.md."""
