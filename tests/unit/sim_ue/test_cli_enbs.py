"""`sim-ue attach --enbs N`: the eNBs beyond the configured ones announce tracking areas the
MME serves, so that each gets through S1 Setup with the real MME core (TS 36.413 §8.7.3)."""

from __future__ import annotations

from corenet.codecs import s1ap
from corenet.config.models import CorenetConfig, MmeConfig
from corenet.nf.mme.core import MmeCore
from corenet.nf.mme.events import S1apReceived as MmeS1apReceived
from corenet.nf.mme.events import S1Up, SendS1ap
from sim_ue import enb as enb_mod
from sim_ue.cli import _enbs

NOW = 1_767_225_600.0


def _setup_answers(mme_cfg: MmeConfig, enb_cfgs: list) -> list[tuple[str, object]]:
    """Each eNB's S1 SETUP REQUEST through the real MME core: (answer name, cause)."""
    core = MmeCore(mme_cfg)
    answers = []
    for assoc, cfg in enumerate(enb_cfgs, start=1):
        request = next(a for a in enb_mod.EnbCore(cfg).handle(enb_mod.S1Connected(), NOW)
                       if isinstance(a, enb_mod.SendS1ap))
        core.handle(S1Up(assoc), NOW)
        out = core.handle(MmeS1apReceived(assoc, request.data), NOW)
        (answer,) = [s1ap.decode(a.data) for a in out if isinstance(a, SendS1ap)]
        answers.append((answer.name, answer.fields.get("Cause")))
    return answers


def test_four_enbs_of_the_default_configuration_all_pass_s1_setup() -> None:
    full = CorenetConfig()
    cfgs = _enbs(full.sim_ue, None, 4, None, None, full.mme.tacs)
    assert [c.tac for c in cfgs] == [1, 2, 1, 2]
    assert _setup_answers(full.mme, cfgs) == [("S1SetupResponse", None)] * 4


def test_generated_enbs_without_a_configuration_use_the_default_mme_tacs() -> None:
    cfgs = _enbs(None, None, 3, None, None)
    assert [c.tac for c in cfgs] == [1, 2, 1]
    assert [c.global_enb_id for c in cfgs] == [0x101, 0x102, 0x103]
    assert _setup_answers(MmeConfig(), cfgs) == [("S1SetupResponse", None)] * 3


def test_generated_enbs_follow_the_tacs_the_configuration_serves() -> None:
    mme = MmeConfig(tacs=[7, 9, 11])
    cfgs = _enbs(None, None, 4, None, None, mme.tacs)
    assert [c.tac for c in cfgs] == [7, 9, 11, 7]
    assert _setup_answers(mme, cfgs) == [("S1SetupResponse", None)] * 4


def test_a_tac_the_mme_does_not_serve_is_refused_with_misc_unspecified() -> None:
    cfgs = _enbs(None, None, 1, None, 3)
    assert _setup_answers(MmeConfig(), cfgs) == [("S1SetupFailure", ("misc", "unspecified"))]
