"""Run-time control of the rescuer: roaming policy and injected home-network failures.

api.py       sans-I/O `ControlApi.handle(request, now) -> ControlResult` over plain dicts
             validated by pydantic models (the same operations go over MQTT later)
server.py    JSON lines over TCP on loopback, and the client the CLI uses
registry.py  HSS services of this process, so that failure injection reaches them
"""
