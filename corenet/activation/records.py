"""Records of activations and non-activations, and the activation report for the ministry.

The report's follow-up asks operators to keep the cases where roaming was and was not activated
and analyse them to shorten the time to activation and recovery; after an activation the operator
reports it to the ministry (発動実績報告). One SQLite row per case; the report itself is JSON, and
Markdown for people.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any


class Records:
    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = sqlite3.connect(str(path))
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS activations ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT, scenario TEXT, started TEXT,"
            " activated INTEGER, decision_rule TEXT, mode TEXT, affected TEXT, rescuers TEXT,"
            " prefectures TEXT, tacs TEXT, ues_served INTEGER, minutes_to_service REAL,"
            " report TEXT)"
        )
        self._db.commit()

    def add(self, report: dict[str, Any]) -> int:
        area = report.get("area") or {}
        cur = self._db.execute(
            "INSERT INTO activations (scenario, started, activated, decision_rule, mode, affected,"
            " rescuers, prefectures, tacs, ues_served, minutes_to_service, report)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                report["scenario"], report.get("started"), int(bool(report["activated"])),
                report.get("decision_rule"), report.get("mode"), report.get("affected"),
                json.dumps(report.get("rescuers", [])),
                json.dumps(area.get("prefectures", [])), json.dumps(area.get("tacs", [])),
                int(report.get("ues_served", 0)), report.get("minutes_to_service"),
                json.dumps(report, ensure_ascii=False),
            ),
        )
        self._db.commit()
        return int(cur.lastrowid or 0)

    def all(self, activated: bool | None = None) -> list[dict[str, Any]]:
        sql = "SELECT report FROM activations"
        args: tuple[Any, ...] = ()
        if activated is not None:
            sql += " WHERE activated = ?"
            args = (int(activated),)
        return [json.loads(r[0]) for r in self._db.execute(sql + " ORDER BY id", args)]

    def close(self) -> None:
        self._db.close()


def report_markdown(report: dict[str, Any]) -> str:
    """The activation report for the ministry, in Markdown."""
    verdict = "activated" if report["activated"] else "not activated"
    lines = [
        f"# Emergency roaming activation report: {report['scenario']}",
        "",
        f"- outcome: **{verdict}**",
        f"- decision rule: {report.get('decision_rule') or 'none'}",
        f"- reason: {report.get('decision_reason', '')}",
        f"- affected operator: {report.get('affected')}",
        f"- rescuing operators: {', '.join(report.get('rescuers', [])) or 'none'}",
        f"- mode: {report.get('mode') or '-'}",
    ]
    area = report.get("area")
    if area:
        lines.append(f"- prefectures: {', '.join(area['prefectures'])}; TACs: "
                     f"{', '.join(str(t) for t in area['tacs'])}")
    if report.get("minutes_to_service") is not None:
        lines.append(f"- time to service: {report['minutes_to_service']:.0f} min")
    lines.append(f"- UEs served: {report.get('ues_served', 0)}")
    lines += ["", "## Timeline", "",
              "| step | name | started | ended | max (min) | overrun | note |",
              "|---|---|---|---|---|---|---|"]
    for s in report.get("steps", []):
        lines.append(
            f"| {s['step']} | {s['name_ja']} {s['name']} | {s['started']} | {s['ended'] or ''} |"
            f" {s['max_minutes'] if s['max_minutes'] is not None else ''} |"
            f" {'yes' if s['overrun'] else ''} | {s['note']} |"
        )
    acks = report.get("acks", [])
    if acks:
        lines += ["", "## Rescuers' answers", ""]
        for a in acks:
            why = "; ".join(f"{r['code']}: {r['text']}" for r in a["reasons"]) or "-"
            lines.append(f"- {a['rescuer']}: {'accepted' if a['accepted'] else 'refused'} ({why})")
    release = report.get("release", [])
    if release:
        lines += ["", "## Gradual release (ACB per PLMN)", "",
                  "| from | ac-BarringFactor | ac-BarringTime (s) |", "|---|---|---|"]
        for r in release:
            factor = "no barring" if r["factor"] is None else r["factor"]
            lines.append(f"| {r['at']} | {factor} | {r['time_s']} |")
    alarms = report.get("alarms", [])
    if alarms:
        lines += ["", "## Overruns", ""]
        lines += [f"- steps {a['steps']}: over {a['max_minutes']} min at {a['at']}" for a in alarms]
    return "\n".join(lines) + "\n"
