"""The monthly report of the curator (Altai §20: timeliness, quality, dynamics; Altai §19 / Omsk §18:
missed deadlines by department): CSV tables and PNG charts (matplotlib, Agg backend)."""
from __future__ import annotations

import csv
import io

from matplotlib.ticker import MaxNLocator

from storage.review import MonthReport

DEPARTMENT_COLUMNS = ["Исполнитель", "Всего", "В срок", "С опозданием", "Открыто, срок истёк",
                      "Открыто, в сроке", "Возвращено как не компетентным", "Доля в срок, %"]
GROUP_COLUMNS = ["Группа тем", "Сообщений", "Прошлый месяц", "Изменение, %"]


def change(now: int, before: int) -> float | None:
    return None if before == 0 else round(100.0 * (now - before) / before, 1)


def department_rows(report: MonthReport) -> list[list]:
    rows = []
    for d in report.departments:
        share = d.on_time_share
        rows.append([d.department, d.total, d.on_time, d.late, d.open_overdue, d.open_in_time, d.returned,
                     "" if share is None else round(100 * share, 1)])
    return rows


def group_rows(report: MonthReport) -> list[list]:
    names = list(report.groups) + [g for g in report.previous_groups if g not in report.groups]
    rows = []
    for g in names:
        now, before = report.groups.get(g, 0), report.previous_groups.get(g, 0)
        ch = change(now, before)
        rows.append([g, now, before, "" if ch is None else ch])
    return rows


def report_csv(report: MonthReport, kind: str) -> str:
    """`departments`, `groups` or `daily` (per group and day) as CSV (semicolons and a BOM: opens right in Russian Excel)."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, delimiter=";")
    if kind == "departments":
        writer.writerow(DEPARTMENT_COLUMNS)
        writer.writerows(department_rows(report))
    elif kind == "groups":
        writer.writerow(GROUP_COLUMNS)
        writer.writerows(group_rows(report))
    elif kind == "daily":
        writer.writerow(["Группа тем", "День", "Сообщений"])
        for group, days in report.daily.items():
            writer.writerows([group, day, n] for day, n in sorted(days.items()))
    else:
        raise ValueError(f"kind: expected departments, groups or daily, got {kind!r}")
    return buf.getvalue()


def _figure(width: float, height: float):
    """A pyplot-free Figure on the Agg backend (no global state shared across request threads)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # no pyplot: no global state across threads

    return Figure(figsize=(width, height), dpi=100)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def _short(name: str, n: int = 48) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def timeliness_png(report: MonthReport) -> bytes:
    """Stacked horizontal bars per department: on time, late, open past the deadline, open in time."""
    deps = report.departments[:15]
    fig = _figure(9, 1.2 + 0.45 * max(len(deps), 1))
    ax = fig.add_subplot(1, 1, 1)
    if not deps:
        ax.text(0.5, 0.5, "нет сообщений за месяц", ha="center", va="center")
        ax.set_axis_off()
        return _png(fig)
    names = [_short(d.department) for d in deps][::-1]
    series = [
        ("в срок", [d.on_time for d in deps][::-1], "#2e7d32"),
        ("с опозданием", [d.late for d in deps][::-1], "#f9a825"),
        ("открыто, срок истёк", [d.open_overdue for d in deps][::-1], "#c62828"),
        ("открыто, в сроке", [d.open_in_time for d in deps][::-1], "#90a4ae"),
    ]
    left = [0] * len(deps)
    for label, values, color in series:
        ax.barh(names, values, left=left, label=label, color=color)
        left = [a + b for a, b in zip(left, values)]
    ax.set_xlabel("сообщений")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Своевременность ответов по исполнителям, {report.month}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35 if len(deps) < 4 else -0.12), ncol=4, fontsize=8,
              frameon=False)
    return _png(fig)


def groups_png(report: MonthReport) -> bytes:
    """Volume by topic group this month against the month before (top 12 groups)."""
    rows = group_rows(report)[:12]
    fig = _figure(9, 1.2 + 0.45 * max(len(rows), 1))
    ax = fig.add_subplot(1, 1, 1)
    if not rows:
        ax.text(0.5, 0.5, "нет сообщений за месяц", ha="center", va="center")
        ax.set_axis_off()
        return _png(fig)
    names = [_short(r[0], 40) for r in rows][::-1]
    y = list(range(len(rows)))
    now = [r[1] for r in rows][::-1]
    before = [r[2] for r in rows][::-1]
    ax.barh([v + 0.2 for v in y], now, height=0.4, label=report.month, color="#1565c0")
    ax.barh([v - 0.2 for v in y], before, height=0.4, label="прошлый месяц", color="#b0bec5")
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.set_xlabel("сообщений")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Сообщения по группам тем, {report.month}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35 if len(rows) < 4 else -0.12), ncol=2, fontsize=8,
              frameon=False)
    return _png(fig)
