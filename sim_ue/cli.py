"""The `sim-ue` command: emulated eNBs and UEs against any MME, and the USIM on its own.

    sim-ue attach --mme HOST:PORT [--subscribers FILE] [--ues N] [--enbs N] [--plmn 44020]
                  [--tac 1] [--json] [--pcap PATH] [--config FILE] [--check]
                  [--emergency [--dial 119]] [--device PROFILE.yaml|DIR ...] [--mix NAME=W,...]
                  [--shard I/N] [--stay SECONDS]
    sim-ue call --dial NUMBER [--pcscf HOST:PORT] [--mme HOST:PORT] [--subscribers FILE]
                [--config FILE] [--ues N] [--device ...] [--callbacks SECONDS] [--json]
    sim-ue usim --k HEX --opc HEX --rand HEX --autn HEX [--sqn-ms N|0xHEX]

Without --subscribers, the subscribers file is the configuration's sim_ue.subscribers_file, or
the embedded configs/subscribers.yaml. A bad argument prints one line and exits 2.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from corenet.cli.args import UInt, run_command
from corenet.cli.progress import bar, shown
from corenet.config import loader
from corenet.config.models import (
    CorenetConfig,
    EnbConfig,
    Endpoint,
    MmeConfig,
    PcscfConfig,
    SimUeConfig,
)
from corenet.config.subscribers import Subscriber, load_subscribers
from corenet.core.errors import ConfigError
from corenet.core.plmn import Plmn
from corenet.pcap import PcapTap, live_writer
from corenet.runtime import loop
from sim_ue.devices import DeviceProfile, load_devices, parse_mix
from sim_ue.pws import AirTap
from sim_ue.runner import Population, Shard
from sim_ue.ue import UeResult, UeTimers
from sim_ue.usim import AuthFailure, Usim, sqn_array_at


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Simulated UEs with USIMs behind emulated eNBs (S1AP towards any MME)."""


def _endpoint(text: str) -> Endpoint:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"{text!r} is not HOST:PORT", param_hint="--mme")
    try:
        return Endpoint(host=host.strip("[]"), port=int(port))
    except ValueError as exc:
        raise click.BadParameter(f"{text!r}: {exc}".replace("\n", " "),
                                 param_hint="--mme") from None


def _hex(name: str, text: str, size: int) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise click.BadParameter("not hex", param_hint=name) from None
    if len(raw) != size:
        raise click.BadParameter(f"must be {size} octets", param_hint=name)
    return raw


# SimUeConfig.subscribers_file, relative to the working folder or to the project's configs/
DEFAULT_SUBSCRIBERS = SimUeConfig().subscribers_file
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PCSCF = (PcscfConfig().listen.host, PcscfConfig().listen.port)


def _subscribers_path(subs_file: str | None, sim: SimUeConfig | None,
                      config_file: str | None) -> str:
    """--subscribers, else the configuration's sim_ue.subscribers_file (relative to the
    configuration file's folder when it is there), else the embedded default subscribers
    (configs/subscribers.yaml of the working folder, or of the project)."""
    if subs_file:
        return subs_file
    path = sim.subscribers_file if sim else DEFAULT_SUBSCRIBERS
    if Path(path).is_absolute() or Path(path).exists():
        return path
    for base in ([Path(config_file).parent] if config_file else []) + [PROJECT_ROOT]:
        if (base / path).exists():
            return str(base / path)
    return path


def _enbs(sim: SimUeConfig | None, mme: Endpoint | None, count: int | None, plmn: str | None,
          tac: int | None, served_tacs: list[int] | None = None) -> list[EnbConfig]:
    """eNBs from the configuration, or `count` generated ones (127.0.1.1, 127.0.1.2, ...).
    A generated eNB announces one of the TACs the MME serves (`served_tacs`, in turn): an
    eNB of a tracking area the MME does not serve is refused S1 Setup (TS 36.413 §8.7.3.3)."""
    base = list(sim.enbs) if sim else []
    tacs = list(served_tacs or MmeConfig().tacs)
    n = count if count is not None else (len(base) or 1)
    out = []
    for i in range(n):
        if i < len(base):
            cfg = base[i].model_copy()
        else:
            cfg = EnbConfig(name=f"enb{i + 1}", global_enb_id=0x101 + i,
                            tac=tacs[i % len(tacs)], address=f"127.0.1.{i % 254 + 1}")
        updates: dict[str, Any] = {}
        if mme is not None:
            updates["mme"] = mme
        if plmn is not None:
            updates |= {"plmn": plmn, "broadcast_plmns": [plmn]}
        if tac is not None:
            updates["tac"] = tac
        out.append(cfg.model_copy(update=updates))
    return out


def _print_results(results: list[UeResult], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([r.to_json() for r in results], indent=2))
        return
    for r in results:
        state = "ATTACHED" if r.attached else r.outcome.upper()
        ambr = (f" apn-ambr {r.apn_ambr['uplink_kbps']}/{r.apn_ambr['downlink_kbps']} kbps"
                if r.apn_ambr else "")
        state = "EMERGENCY" if r.emergency and r.attached else state
        why = f" reason={r.reason!r}" if r.reason else ""
        click.echo(f"{r.imsi} {state} display={r.display!r} network={r.network_name!r} "
                   f"guti={r.guti} ipv4={r.ipv4} ipv6={r.ipv6} apn={r.apn}{ambr} "
                   f"cause={r.cause} enb={r.enb} device={r.device}{why}")


def _devices(paths: tuple[str, ...], mix: str | None
             ) -> list[DeviceProfile] | list[tuple[DeviceProfile, float]] | None:
    """Profiles from --device files/directories; --mix weights them by name."""
    if not paths:
        if mix:
            raise click.UsageError("--mix needs --device")
        return None
    profiles: list[DeviceProfile] = load_devices(paths)
    if mix:
        return parse_mix(mix, {p.name: p for p in profiles})
    return profiles


@cli.command()
@click.option("--mme", "mme_text", help="MME S1AP address HOST:PORT (default: from --config)")
@click.option("--subscribers", "subs_file", type=click.Path(dir_okay=False),
              help="subscriber provisioning file (default: from --config, else "
                   "configs/subscribers.yaml)")
@click.option("--ues", type=click.IntRange(min=1), help="number of UEs (default: all)")
@click.option("--enbs", type=click.IntRange(min=1, max=254), help="number of eNBs")
@click.option("--plmn", help="PLMN the eNBs broadcast and the UEs select, e.g. 44020")
@click.option("--tac", type=click.IntRange(0, 0xFFFF), help="tracking area code of every eNB")
@click.option("--json", "as_json", is_flag=True, help="print results as JSON")
@click.option("--pcap", type=click.Path(dir_okay=False), help="capture S1AP to this pcapng")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="corenet YAML; its sim_ue section gives eNBs and subscribers file")
@click.option("--check", is_flag=True, help="validate the configuration and exit")
@click.option("--sctp", type=click.Choice(["auto", "kernel", "fallback"]), default="auto",
              show_default=True, help="SCTP transport")
@click.option("--concurrency", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="seconds a UE may take to attach")
@click.option("--detach/--no-detach", default=False, help="detach every UE after the attach")
@click.option("--stay", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="seconds the UEs stay camped after the attach: a warning broadcast meanwhile "
                   "(ETWS/CMAS) is read, and captured with --pcap")
@click.option("--emergency", is_flag=True,
              help="the user selects JPN-ROAM manually and dials (emergency attach)")
@click.option("--dial", default="119", show_default=True, help="number the user dials")
@click.option("--device", "device_paths", multiple=True, type=click.Path(exists=True),
              help="device profile YAML or a directory of them (repeatable)")
@click.option("--shard", "shard_text", default=None,
              help="run shard I of N (I/N, e.g. 0/4): subscriber i when i mod N = I, the eNBs "
                   "under IDs of their own; the N shards may run on N hosts")
@click.option("--mix", help="weights of the --device profiles by name, e.g. iphone-2026=3,"
                            "android-kddi-2022=1 (drawn with --seed)")
def attach(mme_text: str | None, subs_file: str | None, ues: int | None, enbs: int | None,
           plmn: str | None, tac: int | None, as_json: bool, pcap: str | None,
           config_file: str | None, check: bool, sctp: str, concurrency: int, seed: int,
           timeout: float, detach: bool, emergency: bool, dial: str,
           device_paths: tuple[str, ...], mix: str | None, shard_text: str | None = None,
           stay: float = 0.0) -> None:
    """Attach simulated UEs through emulated eNBs to an MME (TS 23.401 §5.3.2.1); with
    --emergency, the emergency call of the seed report (TS 24.301 §5.5.1.2.2)."""
    if plmn is not None:
        try:
            plmn = str(Plmn.parse(plmn))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--plmn") from None
    try:
        full = loader.load(CorenetConfig, config_file) if config_file else None
        sim = full.sim_ue if full else None
        mme = _endpoint(mme_text) if mme_text else None
        enb_cfgs = _enbs(sim, mme, enbs, plmn, tac, full.mme.tacs if full else None)
        subscribers: list[Subscriber] = load_subscribers(
            _subscribers_path(subs_file, sim, config_file))
        devices = _devices(device_paths, mix)
    except ConfigError as exc:
        click.echo(f"sim-ue attach: error: {exc}".replace("\n", " "), err=True)
        sys.exit(2)
    if check:
        n_dev = f", {len(devices)} device profile(s)" if devices else ""
        click.echo(f"configuration ok: {len(enb_cfgs)} eNB(s), {len(subscribers)} subscriber(s)"
                   f"{n_dev}")
        return
    if mme is None and sim is None:
        raise click.UsageError("give --mme or --config")
    chosen = subscribers[:ues] if ues else subscribers
    if shard_text is not None:
        try:
            shard = Shard.parse(shard_text)
            chosen, enb_cfgs, seed = shard.subscribers(chosen), shard.enbs(enb_cfgs), shard.seed(seed)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--shard") from None
    eea = tuple(sim.eea) if sim else (2, 0)
    eia = tuple(sim.eia) if sim else (2,)
    selection = sim.selection if sim else "manual"
    retry: dict[str, Any] = {}
    if sim is not None:
        retry = {"ue_timers": UeTimers(sim.t3410_s, sim.t3411_s, sim.t3402_s),
                 "reconnect_s": sim.s1_reconnect_s, "reconnect_max_s": sim.s1_reconnect_max_s}
    with bar("attach", len(chosen), show=shown(as_json)):
        results = loop.run(_run(chosen, enb_cfgs, pcap, concurrency=concurrency, seed=seed,
                                   eea=eea, eia=eia, selection=selection, plmn=plmn, **retry,
                                   sctp_mode=sctp, timeout=timeout, detach=detach,
                                   devices=devices, dial=dial if emergency else None,
                                   stay=stay))
    _print_results(results, as_json)
    if emergency:
        # the run succeeds when every user could call (attached, or reasoned refusal aside)
        if not all(r.attached for r in results):
            sys.exit(1)
        return
    if not all(r.attached for r in results) and not detach:
        sys.exit(1)


async def _run(subscribers: list[Subscriber], enb_cfgs: list[EnbConfig], pcap: str | None, *,
               detach: bool, dial: str | None = None, stay: float = 0.0,
               **options: Any) -> list[UeResult]:
    writer = live_writer(pcap) if pcap else None
    tap = PcapTap(writer).sctp if writer else None
    try:
        pop = Population(subscribers, enb_cfgs, tap=tap,
                         air=AirTap(writer) if writer else None, **options)
        try:
            await pop.start()
        except (OSError, ConnectionError) as exc:
            raise click.ClickException(f"cannot bring up the eNBs: {exc}") from None
        try:
            results = await (pop.emergency(dial) if dial else pop.attach())
            if stay:  # the cells keep broadcasting (TS 36.331 §5.3.10.9) and the UEs reading
                await asyncio.sleep(stay)
            if detach:
                await pop.detach()
        finally:
            await pop.stop()
        return results
    finally:
        if writer is not None:
            writer.close()


def _sip_endpoint(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{text!r} is not HOST:PORT", param_hint="--pcscf")
    return host.strip("[]"), int(port)


@cli.command()
@click.option("--dial", required=True, help="number every user dials, e.g. 119, 184110, "
                                            "03-1234-5678, #7119")
@click.option("--pcscf", "pcscf_text",
              help="P-CSCF HOST:PORT when the PDN connection's PCO names none (default: "
                   "ims.pcscf.listen of --config, else 127.0.0.6:5060)")
@click.option("--mme", "mme_text", help="MME S1AP address HOST:PORT (default: from --config)")
@click.option("--subscribers", "subs_file", type=click.Path(dir_okay=False),
              help="subscriber provisioning file (default: from --config, else "
                   "configs/subscribers.yaml)")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="corenet YAML; its sim_ue section gives eNBs and subscribers file")
@click.option("--ues", type=click.IntRange(min=1), help="number of UEs (default: all)")
@click.option("--plmn", help="PLMN the eNBs broadcast and the UEs select, e.g. 44020")
@click.option("--device", "device_paths", multiple=True, type=click.Path(exists=True),
              help="device profile YAML or a directory of them (repeatable)")
@click.option("--mix", help="weights of the --device profiles by name")
@click.option("--sctp", type=click.Choice(["auto", "kernel", "fallback"]), default="auto",
              show_default=True, help="SCTP transport")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True)
@click.option("--hold", type=click.FloatRange(min=0.0), default=1.0, show_default=True,
              help="seconds an answered call lasts before the UE hangs up")
@click.option("--callbacks", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="then keep the UEs reachable this many seconds for call-backs")
@click.option("--pcap", type=click.Path(dir_okay=False), help="capture S1AP and SIP here")
@click.option("--json", "as_json", is_flag=True, help="print results as JSON")
def call(dial: str, pcscf_text: str, mme_text: str | None, subs_file: str | None,
         config_file: str | None, ues: int | None, plmn: str | None,
         device_paths: tuple[str, ...], mix: str | None, sctp: str, timeout: float,
         hold: float, callbacks: float, pcap: str | None, as_json: bool) -> None:
    """Attach, then every user dials: an emergency call (TS 24.229 §5.1.6.8, emergency
    attach where needed) or a normal call through the IMS (TS 24.229 §5.1.2A)."""
    try:
        cfg = loader.load(CorenetConfig, config_file) if config_file else None
        sim, ims = (cfg.sim_ue, cfg.ims) if cfg else (None, None)
        mme = _endpoint(mme_text) if mme_text else None
        enb_cfgs = _enbs(sim, mme, None, str(Plmn.parse(plmn)) if plmn else None, None)
        subscribers: list[Subscriber] = load_subscribers(
            _subscribers_path(subs_file, sim, config_file))
        pcscf = _sip_endpoint(pcscf_text) if pcscf_text else (
            (ims.pcscf.listen.host, ims.pcscf.listen.port) if ims else DEFAULT_PCSCF)
        devices = _devices(device_paths, mix)
    except (ConfigError, ValueError) as exc:
        click.echo(f"sim-ue call: error: {exc}".replace("\n", " "), err=True)
        sys.exit(2)
    if mme is None and sim is None:
        raise click.UsageError("give --mme or --config")
    chosen = subscribers[:ues] if ues else subscribers
    out = asyncio.run(_call(chosen, enb_cfgs, pcap, dial, callbacks, sctp_mode=sctp,
                            timeout=timeout, plmn=plmn, devices=devices,
                            pcscf=pcscf, pcscf_explicit=bool(pcscf_text), call_hold=hold,
                            selection=sim.selection if sim else "manual"))
    if as_json:
        click.echo(json.dumps(out, indent=2))
    else:
        for row in out:
            click.echo(f"{row['imsi']} {row['outcome'].upper()} dialled={row['dialled']} "
                       f"sip_status={row['sip_status']} ua={row['ua']} "
                       f"uri={row['request_uri']} reason={row['reason']!r}")


async def _call(subscribers: list[Subscriber], enb_cfgs: list[EnbConfig], pcap: str | None,
                dial: str, callbacks: float, **options: Any) -> list[dict[str, Any]]:
    writer = live_writer(pcap) if pcap else None
    tap = PcapTap(writer) if writer else None
    try:
        pop = Population(subscribers, enb_cfgs, tap=tap.sctp if tap else None, sip_tap=tap,
                         air=AirTap(writer) if writer else None, **options)
        try:
            await pop.start()
        except (OSError, ConnectionError) as exc:
            raise click.ClickException(f"cannot bring up the eNBs: {exc}") from None
        try:
            await pop.attach()
            await pop.until_idle()  # eNB user inactivity, if configured
            rows = await pop.call(dial)
            if callbacks > 0:
                await pop.answer_callbacks()
                await asyncio.sleep(callbacks)
                for row, got in zip(rows, pop.callback_results(), strict=True):
                    row["callbacks"] = got
        finally:
            await pop.stop()
        return rows
    finally:
        if writer is not None:
            writer.close()


@cli.command()
@click.option("--k", "k_hex", required=True, help="subscriber key K (32 hex digits)")
@click.option("--opc", "opc_hex", required=True, help="OPc (32 hex digits)")
@click.option("--rand", "rand_hex", required=True, help="RAND (32 hex digits)")
@click.option("--autn", "autn_hex", required=True, help="AUTN (32 hex digits)")
@click.option("--sqn-ms", type=UInt(2**48 - 1), default="0", show_default=True,
              help="the highest SQN the USIM has accepted (48 bits, decimal or 0x hex)")
def usim(k_hex: str, opc_hex: str, rand_hex: str, autn_hex: str, sqn_ms: int) -> None:
    """What the USIM answers to (RAND, AUTN): RES/CK/IK, or the failure cause and AUTS
    (TS 33.102 §6.3.3)."""
    k = _hex("--k", k_hex, 16)
    opc = _hex("--opc", opc_hex, 16)
    rand = _hex("--rand", rand_hex, 16)
    autn = _hex("--autn", autn_hex, 16)
    answer = Usim("0" * 15, k, opc, sqn_array=sqn_array_at(sqn_ms)).authenticate(rand, autn)
    if isinstance(answer, AuthFailure):
        out: dict[str, Any] = {"result": "failure", "emm_cause": answer.cause,
                               "auts": answer.auts.hex() if answer.auts else None}
    else:
        out = {"result": "success", "res": answer.res.hex(), "ck": answer.ck.hex(),
               "ik": answer.ik.hex(), "sqn_xor_ak": answer.sqn_xor_ak.hex()}
    click.echo(json.dumps(out, indent=2))


def main(argv: list[str] | None = None) -> None:
    run_command(cli, "sim-ue", argv)


if __name__ == "__main__":
    main()
