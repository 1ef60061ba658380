"""A minimal MME built from the codecs, enough to drive the simulated UEs over loopback.

Network side of TS 23.401 §5.3.2.1: Authentication Request, Security Mode Command, Initial
Context Setup with Attach Accept, EMM Information; Detach Accept and UE Context Release.
Emergency-only modes (TS 23.401 §4.3.12): a normal attach is rejected with `normal_reject`;
an emergency attach (type 6) gets the emergency APN, after AKA ("emergency-auth") or with a
null-algorithm Security Mode Command and no AKA ("emergency-unauth", TS 33.401 §5.1.4.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corenet.codecs import nas, s1ap
from corenet.codecs.nas_ies import Guti, Tai, emergency_number_list
from corenet.core.plmn import Plmn
from corenet.crypto import kdf
from corenet.crypto.milenage import Milenage, generate_vector, int_to_sqn
from corenet.crypto.nas_security import DOWNLINK, UPLINK, NasSecurityContext
from corenet.nf.mme.emm import replayed_capabilities
from corenet.transport import open_sctp_server

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
RESCUER = Plmn("440", "20")
PPID = 18


@dataclass
class _Ue:
    mme_id: int
    enb_id: int
    plmn: Plmn
    imsi: str = ""
    xres: bytes = b""
    kasme: bytes = b""
    ctx: NasSecurityContext | None = None
    emergency: bool = False
    ue_net_cap: bytes = b""


@dataclass
class MmeStub:
    reject_cause: int | None = None
    mode: str = "full"  # full | emergency-auth | emergency-unauth
    normal_reject: int = 15
    emergency_apn: str = "sos"
    attach_requests: list[dict[str, Any]] = field(default_factory=list)
    smc_algorithms: list[tuple[int, int]] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    ues: dict[tuple[int, int], _Ue] = field(default_factory=dict)
    _next: int = 1000
    server: Any = None

    # answer the next `rejects_left` Attach Requests with `reject_cause`, then go on normally
    rejects_left: int | None = None
    # S1 Setup Failure with this Time to wait (TS 36.413 §9.2.1.61) for the next request
    setup_failure_wait: str | None = None
    # NAS messages left unanswered (a stalled MME)
    hold: frozenset[str] = frozenset()

    async def start(self, port: int = 0) -> tuple[str, int]:
        self.server = await open_sctp_server("127.0.0.1", port, self._on_message,
                                             mode="fallback")
        return self.server.local

    async def crash(self) -> None:
        """Every association gone at once, as when the MME process dies."""
        self.server.close()
        await self.server.wait_closed()
        self.ues.clear()

    def close(self) -> None:
        self.server.close()

    def _send(self, conn: Any, msg: Any, stream: int = 1) -> None:
        conn.send(s1ap.encode(msg), PPID, stream)

    def _on_message(self, conn: Any, payload: bytes, ppid: int, stream: int) -> None:
        msg = s1ap.decode(payload)
        self.seen.append(msg.name)
        f = msg.fields
        if msg.name == "S1SetupRequest":
            if self.setup_failure_wait is not None:
                wait, self.setup_failure_wait = self.setup_failure_wait, None
                self._send(conn, s1ap.s1_setup_failure(("misc", "om-intervention"), wait), 0)
                return
            self._send(conn, s1ap.s1_setup_response("mme-stub", [RESCUER], 0x8001, 1), 0)
        elif msg.name == "InitialUEMessage":
            self._next += 1
            ue = _Ue(self._next, f["eNB-UE-S1AP-ID"], Plmn.parse(f["TAI"]["pLMNidentity"]))
            self.ues[(id(conn), ue.mme_id)] = ue
            self._nas(conn, ue, f["NAS-PDU"])
        elif msg.name == "UplinkNASTransport":
            self._nas(conn, self.ues[(id(conn), f["MME-UE-S1AP-ID"])], f["NAS-PDU"])

    def _down(self, conn: Any, ue: _Ue, plain: bytes) -> None:
        pdu = nas.protect(plain, ue.ctx, DOWNLINK, 2) if ue.ctx else plain
        self._send(conn, s1ap.downlink_nas_transport(ue.mme_id, ue.enb_id, pdu))

    def _smc(self, conn: Any, ue: _Ue, ctx: NasSecurityContext) -> None:
        ue.ctx = ctx
        self.smc_algorithms.append((ctx.eea, ctx.eia))
        # TS 24.301 §5.4.3.2: the UE security capabilities replayed as the UE sent them
        smc = nas.security_mode_command(ctx.eea, ctx.eia, ctx.ksi,
                                        replayed_capabilities(ue.ue_net_cap),
                                        imeisv_request=True)
        self._send(conn, s1ap.downlink_nas_transport(
            ue.mme_id, ue.enb_id, nas.protect(smc, ctx, DOWNLINK, 3)))

    def _nas(self, conn: Any, ue: _Ue, pdu: bytes) -> None:
        msg = nas.decode(pdu, ue.ctx, UPLINK)
        self.seen.append(msg.name)
        if msg.name in self.hold:
            return
        if msg.name == "AttachRequest":
            self.attach_requests.append(msg.fields)
            ue.imsi = str(msg.fields["eps_mobile_identity"]["value"])
            ue.emergency = msg.fields["eps_attach_type"] == 6
            ue.ue_net_cap = bytes(msg.fields["ue_network_capability"])
            cause = self.reject_cause
            if self.rejects_left is not None:
                self.rejects_left -= 1
                if self.rejects_left < 0:
                    cause = None
            if cause is None and self.mode != "full" and not ue.emergency:
                cause = self.normal_reject
            if cause is not None:
                # TS 23.401 §5.3.2.1: the MME releases the S1 connection after the reject.
                self._down(conn, ue, nas.attach_reject(cause))
                self._send(conn, s1ap.ue_context_release_command(ue.mme_id, ue.enb_id,
                                                                 ("nas", "unspecified")))
                return
            if ue.emergency and self.mode == "emergency-unauth":
                self._smc(conn, ue, NasSecurityContext.from_kasme(0, bytes(32), eia=0, eea=0))
                return
            av = generate_vector(Milenage(K, OPC), bytes(range(16)),
                                 int_to_sqn(32 * ue.mme_id), b"\x80\x00")
            ue.xres = av.xres
            ue.kasme = kdf.kasme(av.ck, av.ik, ue.plmn.to_bytes(), av.sqn_xor_ak)
            self._down(conn, ue, nas.authentication_request(1, av.rand, av.autn))
        elif msg.name == "AuthenticationResponse":
            assert msg.fields["authentication_response_parameter"] == ue.xres
            self._smc(conn, ue, NasSecurityContext.from_kasme(1, ue.kasme, eia=2, eea=2))
        elif msg.name == "SecurityModeComplete":
            assert ue.ctx is not None and msg.fields["mac_valid"]
            apn, qci = (self.emergency_apn, 5) if ue.emergency else ("internet", 9)
            esm = nas.activate_default_eps_bearer_context_request(
                ebi=5, pti=1, qci=qci, apn=apn, ipv4=f"10.45.0.{ue.mme_id % 250}",
                apn_ambr={"downlink": 300, "uplink": 300})
            accept = nas.attach_accept(
                [Tai(ue.plmn, 1)], esm, guti=Guti(RESCUER, 0x8001, 1, ue.mme_id),
                emergency_numbers=emergency_number_list([("110", ["police"])]))
            erab = s1ap.ERabToBeSetup(5, 9, 8, "127.0.0.4", ue.mme_id,
                                      nas_pdu=nas.protect(accept, ue.ctx, DOWNLINK, 2))
            kenb = kdf.kenb(ue.ctx.kasme, 0)
            self._send(conn, s1ap.initial_context_setup_request(
                ue.mme_id, ue.enb_id, 300_000, 300_000, [erab], 0x4000, 0x4000, kenb))
        elif msg.name == "AttachComplete":
            self._down(conn, ue, nas.emm_information(full_name="JPN-ROAM X",
                                                     short_name="JPN-ROAM X"))
        elif msg.name == "DetachRequest":
            if not msg.fields["switch_off"]:
                self._down(conn, ue, nas.detach_accept())
            self._send(conn, s1ap.ue_context_release_command(ue.mme_id, ue.enb_id,
                                                             ("nas", "detach")))
