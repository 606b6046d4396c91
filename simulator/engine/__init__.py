"""The engine (DESIGN.md §2): a replication's incidents, the technician pool on SimPy, and one contract's (or
plan's) simulation from incidents to the ticket log, as a pipeline of named steps (``replication`` lists them;
``plan``, ``routing``, ``recurrences``, ``jobs`` and ``logs`` hold them). SimPy lives only here."""
