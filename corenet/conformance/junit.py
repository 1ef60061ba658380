"""JUnit XML as GitLab, Jenkins and GitHub render it: one testsuite per specification, one
testcase per case, the clause as a property; fail -> <failure>, error -> <error>, inconc ->
<skipped> (the case could not reach its clause)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from corenet.conformance.case import Case
from corenet.conformance.runner import Report
from corenet.conformance.verdicts import Verdict


def to_xml(report: Report, cases: list[Case]) -> ET.Element:
    by_id = {c.id: c for c in cases}
    root = ET.Element("testsuites", name="corenet conformance")
    suites: dict[str, ET.Element] = {}
    for r in report.results:
        c = by_id[r.id]
        suite = suites.get(c.specification)
        if suite is None:
            suite = suites[c.specification] = ET.SubElement(root, "testsuite",
                                                            name=c.specification)
        tc = ET.SubElement(suite, "testcase", name=f"{c.id}: {c.title}",
                           classname=c.specification.replace(" ", "_"), time=f"{r.duration_s:.3f}")
        props = ET.SubElement(tc, "properties")
        ET.SubElement(props, "property", name="clause", value=c.spec)
        ET.SubElement(props, "property", name="sut", value=c.sut)
        ET.SubElement(props, "property", name="verdict", value=r.verdict.value)
        if r.pcap:
            ET.SubElement(props, "property", name="pcap", value=r.pcap)
        if r.verdict is Verdict.FAIL:
            ET.SubElement(tc, "failure", message=r.reason, type="fail").text = r.reason
        elif r.verdict is Verdict.ERROR:
            ET.SubElement(tc, "error", message=r.reason, type="error").text = r.reason
        elif r.verdict is Verdict.INCONC:
            ET.SubElement(tc, "skipped", message=f"inconc: {r.reason}")
    for suite in suites.values():
        kids = suite.findall("testcase")
        suite.set("tests", str(len(kids)))
        suite.set("failures", str(sum(1 for k in kids if k.find("failure") is not None)))
        suite.set("errors", str(sum(1 for k in kids if k.find("error") is not None)))
        suite.set("skipped", str(sum(1 for k in kids if k.find("skipped") is not None)))
        suite.set("time", f"{sum(float(k.get('time', 0)) for k in kids):.3f}")
    counts = report.counts()
    root.set("tests", str(counts["total"]))
    root.set("failures", str(counts["failed"]))
    root.set("errors", str(counts["errors"]))
    return root


def write(report: Report, cases: list[Case], path: str | Path) -> None:
    tree = ET.ElementTree(to_xml(report, cases))
    ET.indent(tree)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)
