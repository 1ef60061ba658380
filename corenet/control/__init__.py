"""Run-time control of the rescuer: roaming policy and injected home-network failures.

api.py       the operations as pydantic models over plain dicts, `ControlResult`, the actions
             every endpoint may return, and `HssControl` (an HSS's own failure injection);
             the MME's operations are `corenet.nf.mme.control.ControlApi`
server.py    JSON lines over TCP on loopback, and the client the CLI uses
registry.py  HSS services of this process, so that failure injection reaches them
"""
