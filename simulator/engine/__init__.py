"""The engine (DESIGN.md §2): a replication's incidents, the technician pool on SimPy, and one contract's (or
plan's) simulation from incidents to the ticket log. SimPy lives only here."""
