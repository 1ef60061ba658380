"""The fuzz loop: mutate, run, classify (fine / crash / hang), keep what is new.

Guidance is by outcome: a case whose outcome label (message decoded, error cause, answer sent) was
not seen before joins the mutation pool, so mutations move from the seeds toward every branch the
decoder can report. Runs are reproducible: `--seed` fixes every random choice.
"""

from __future__ import annotations

import hashlib
import random
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from corenet.fuzz.mutator import Mutator
from corenet.fuzz.target import Target

POOL_LIMIT = 4000
# the checkout's tests/fuzz/regressions when corenet runs from one (an editable install)
_CHECKOUT = Path(__file__).resolve().parents[2]
REGRESSIONS = (_CHECKOUT if (_CHECKOUT / "tests" / "fuzz").is_dir() else Path()) / "tests/fuzz/regressions"


class Hang(BaseException):
    """A case ran over the time budget (a BaseException: a handler's `except Exception` must not
    swallow it)."""


@dataclass
class Finding:
    kind: str  # "crash" | "hang"
    signature: str
    detail: str
    data: bytes
    path: Path | None = None


@dataclass
class Report:
    target: str
    cases: int = 0
    crashes: int = 0
    hangs: int = 0
    seconds: float = 0.0
    outcomes: int = 0
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target, "cases": self.cases, "crashes": self.crashes,
            "hangs": self.hangs, "unique_findings": len(self.findings),
            "outcomes": self.outcomes, "seconds": round(self.seconds, 1),
            "written": [str(f.path) for f in self.findings if f.path is not None],
        }


def classify(target: Target, run: Callable[[bytes], str], data: bytes,
             timeout: float) -> tuple[str, Finding | None]:
    """Run one case: (outcome label, finding or None). The label of a documented error is its
    cause; any other exception is a crash; using more than `timeout` seconds of CPU is a hang.

    The budget is CPU time (ITIMER_PROF), not wall time: on a loaded machine a niced run may
    wait seconds for the CPU, and that is no hang of the code under test."""
    use_alarm = timeout > 0 and _can_alarm()
    start = time.process_time()
    try:
        if use_alarm:
            signal.setitimer(signal.ITIMER_PROF, timeout)
        try:
            label = run(data)
        finally:
            if use_alarm:
                signal.setitimer(signal.ITIMER_PROF, 0)
    except Hang:
        return "hang", Finding("hang", "hang", f"over {timeout}s of CPU", data)
    except target.expected as exc:
        label = "err:" + str(getattr(exc, "cause", type(exc).__name__))
    except Exception as exc:
        return "crash", _crash(exc, data)
    if timeout > 0 and time.process_time() - start > timeout:
        return "hang", Finding("hang", "hang", f"over {timeout}s of CPU", data)
    return label, None


def _crash(exc: BaseException, data: bytes) -> Finding:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/corenet/" in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-8))
    return Finding("crash", f"{type(exc).__name__}@{where}", detail, data)


def _can_alarm() -> bool:
    import threading

    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang()


def replay(target: Target, data: bytes, timeout: float = 60.0) -> Finding | None:
    """One saved input against a fresh instance of the target: its finding, or None when it is
    answered as documented (the regression is fixed)."""
    previous = signal.signal(signal.SIGPROF, _on_alarm) if _can_alarm() else None
    try:
        return classify(target, target.runner(), data, timeout)[1]
    finally:
        if previous is not None:
            signal.signal(signal.SIGPROF, previous)


def write_finding(finding: Finding, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(finding.data).hexdigest()[:16]
    path = directory / f"{finding.kind}-{digest}.bin"
    path.write_bytes(finding.data)
    return path


def corpus_files(directory: Path | None) -> list[bytes]:
    if directory is None or not directory.is_dir():
        return []
    return [p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()]


def fuzz(target: Target, cases: int, *, seed: int = 0, timeout: float = 2.0,
         corpus: Path | None = None, regressions: Path | None = REGRESSIONS,
         progress: Callable[[Report], None] | None = None, progress_every: int = 100_000,
         max_findings: int = 50) -> Report:
    """Run `cases` cases against `target`. Each new crash or hang signature is written to
    `regressions/<target>/`; new outcomes are added to `corpus/<target>/` when a corpus is given."""
    rng = random.Random(seed)
    mutator = Mutator(rng)
    seeds = target.seeds() + corpus_files(corpus / target.name if corpus else None)
    pool = list(seeds) or [b""]
    seen: set[str] = set()
    signatures: set[str] = set()
    report = Report(target.name)
    run = target.runner()
    previous = signal.signal(signal.SIGPROF, _on_alarm) if _can_alarm() else None
    started = time.monotonic()
    try:
        for i in range(cases):
            if target.make is not None and i and i % target.reset_every == 0:
                run = target.runner()
            if i < len(seeds):
                data = seeds[i]
            elif rng.random() < 0.03:
                data = mutator.random_bytes()
            else:
                data = mutator.mutate(rng.choice(pool), pool)
            label, finding = classify(target, run, data, timeout)
            report.cases += 1
            if finding is not None:
                if finding.kind == "crash":
                    report.crashes += 1
                else:
                    report.hangs += 1
                if target.make is not None:
                    run = target.runner()  # a crash may leave the core half-updated
                if finding.signature not in signatures and len(report.findings) < max_findings:
                    signatures.add(finding.signature)
                    if regressions is not None:
                        finding.path = write_finding(finding, regressions / target.name)
                    report.findings.append(finding)
                continue
            if label not in seen:
                seen.add(label)
                if len(pool) < POOL_LIMIT:
                    pool.append(data)
                if corpus is not None and i >= len(seeds):
                    d = corpus / target.name
                    d.mkdir(parents=True, exist_ok=True)
                    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)
            if progress is not None and report.cases % progress_every == 0:
                report.seconds = time.monotonic() - started
                report.outcomes = len(seen)
                progress(report)
    finally:
        if previous is not None:
            signal.signal(signal.SIGPROF, previous)
    report.seconds = time.monotonic() - started
    report.outcomes = len(seen)
    return report
