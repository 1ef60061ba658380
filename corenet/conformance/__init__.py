"""Protocol conformance suite: cases tagged by clause, run against a network function under test.

A case is a small declarative record (id, title, clause, SUT, modes) plus a coroutine that plays
every node around the SUT (eNBs and UEs around an MME, an MME around an HSS, a Diameter peer, an
MME on S11) over real sockets. Each case ends in a TTCN-3 verdict (ETSI ES 201 873-1 §24):
pass, fail, inconc or error.
"""
