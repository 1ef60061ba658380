"""The rescuing operator's MME (TS 23.401 §4.4.2), serving roamers of the affected operator.

context.py     eNB/UE contexts, identifier pools (MME UE S1AP IDs, M-TMSIs)
causes.py      EMM/ESM causes, S6a error mapping (TS 29.272 Annex A)
events.py      what goes into and comes out of the sans-I/O core
s1ap_handler.py  S1 Setup, Reset, Error Indication, context setup and release (TS 36.413)
emm.py         attach, authentication, security mode, identification, detach (TS 24.301 §5)
esm.py         PDN connectivity of the attach and the roaming AMBR cap (TS 24.301 §6)
s6a_client.py  AIR / ULR / PUR towards the home HSS (TS 29.272)
s11_client.py  Create Session / Modify Bearer / Delete Session (TS 29.274)
core.py        MmeCore.handle(event, now) -> actions
service.py     MmeService: the core on SCTP, Diameter/TCP and UDP sockets
"""
