"""Markdown pieces of the report: numbers, tables, and the list of runs behind a table."""

from __future__ import annotations

from typing import Any

from benchmarks.harness.machine import describe


def f(v: float | None, nd: int = 2, suffix: str = "") -> str:
    """A number with ``nd`` decimals (thousands separated), or an en dash when missing."""
    return "–" if v is None else f"{v:,.{nd}f}{suffix}"


def x(v: float | None) -> str:
    return f(v, 2, "×")


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def rid(run: dict[str, Any]) -> str:
    """A run's name in the tables: its result file's stem."""
    return f"`{run['_file'].removesuffix('.json')}`"


def runs_list(runs: list[dict[str, Any]]) -> list[str]:
    """One line per run: when, on what (CPU, instruction set, torch), how loaded, the command."""
    out = []
    for r in runs:
        m = r["machine"]
        parts = [m.get("date") or "?", describe(m)]
        if m.get("loadavg"):
            parts.append(f"load {m['loadavg'][0]:.1f}")
        line = f"- {rid(r)}: " + " · ".join(parts) + f" · `{r['command']}`"
        if r.get("original_command"):
            line += f" (ran as `{r['original_command']}`)"
        out.append(line + (f"; {r['note']}" if r.get("note") else ""))
    return out


def section(title: str, intro: str, body: list[str], runs: list[dict[str, Any]]) -> list[str]:
    """``## title``, an intro paragraph, the body, then the runs behind it."""
    return [f"## {title}", "", intro, "", *body, "", "Runs:", "", *runs_list(runs), ""]
