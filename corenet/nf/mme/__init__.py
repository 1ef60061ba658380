"""The rescuing operator's MME (TS 23.401 §4.4.2), serving roamers of the affected operator.

context.py        eNB/UE contexts (UE: security, session, NAS timer parts), identifier pools
causes.py         EMM/ESM causes, S6a error mapping (TS 29.272 Annex A)
events.py         what goes into and comes out of the sans-I/O core
port.py           what procedures need from the core (MmePort, S1Port): they never import core.py
emm_sm.py         the EMM state machine as a table (TS 24.301 §5.1.3.4)
nas_path.py       downlink NAS, timers T3450/T3460/T3470/T3489 (TS 24.301 §10.2)
nas_handler.py    uplink NAS: integrity check, malformed messages, dispatch by (step, message)
attach.py         the attach sequence as a table (TS 23.401 §5.3.2.1)
identity.py       identification, IMSI claim and take-over, home network (TS 24.301 §5.4.4)
authentication.py AIR/AIA and EPS AKA (TS 24.301 §5.4.2)
security_mode.py  NAS security mode control (TS 24.301 §5.4.3; TS 33.401 §5.1.4.1)
session.py        the attach's PDN connection: Create Session, Modify Bearer (TS 29.274)
detach.py         UE-initiated detach (TS 24.301 §5.5.2.2; TS 23.401 §5.3.8.2.1)
esm.py            PDN connectivity of the attach and the roaming AMBR cap (TS 24.301 §6)
s1ap_handler.py   S1 interface and the routing of S1AP by procedure (TS 36.413 §8)
s1ap_build.py     the S1AP messages the MME sends (TS 36.413 §9)
s6a_client.py     AIR / ULR / PUR towards the home HSS (TS 29.272)
s11_client.py     Create Session / Modify Bearer / Delete Session (TS 29.274)
s11_path.py       Echo, Recovery and S-GW restart on S11 (TS 29.274 §7.1; TS 23.007)
core.py           MmeCore.handle(event, now) -> actions; owns contexts and transactions
service.py        MmeService: the core on SCTP, Diameter/TCP and UDP sockets
"""
