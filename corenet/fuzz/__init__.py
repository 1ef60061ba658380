"""`corenet fuzz`: structured mutation of real messages against every decoder and server entry point.

A case is a byte string made by mutating a seed (a message the project's own encoders build, or a
file of the corpus). A target feeds it to a decoder or to a sans-I/O core and says which exceptions
are the documented answer to bad input (`DecodeError` for a decoder); anything else is a crash, and
a case running over the time budget is a hang. Crashing and hanging inputs are written to
`tests/fuzz/regressions/<target>/`, where `tests/fuzz/test_regressions.py` replays them.
"""
