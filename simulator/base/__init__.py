"""The base layer: clock and calendars, distributions, seeded random streams, the records every layer passes on,
the finite ranges of inputs, safe file writing and worker processes. Imports nothing else of the package."""
