"""The report as text: the comparison table (a row per variant) and the tables that explain it
(details, reference rows, cold start, targets), for the terminal and as Markdown.

Both renderings come from the same cells, so the Markdown file is a copy of what was printed.
"""

from runtime.machine import describe
from runtime.parity import shown

DASH = "–"
LEGEND = (
    "accuracy: on the gate's images, n/a without labels of the model's classes (export --data). "
    "b1: one uint8 gate image (28x28 for the tutorial) through Predictor.predict on 1 thread; "
    "p50/p99/min over single calls; "
    "spread: interquartile range / p50 (a noisy machine shows as a large spread). "
    "best img/s: the faster of batch 32 and 1,024 on every core. "
    "vs Keras: Keras model.predict time over the variant's (batch 1, and batch 1,024). "
    "overhead: Predictor.predict p50 over the bare engine call's (LiteRT set/invoke/get, onnxruntime run), "
    "1 thread. % matmul: img/s as a share of numpy's two float32 matrix products of the same shapes at "
    "the same batch ('?': numpy's timing was noisy or starved in this run, no yardstick). peak RSS: a "
    "fresh process that loads the variant and predicts one image. Each figure is computed from the "
    "medians and, 'from min', from the fastest calls: a goal is met or not when both agree, 'unsure' "
    "when they do not or the figure's yardstick is broken (the note says which); a figure with no goal "
    "is shown, never met."
)


def seconds(s) -> str:
    if s is None:
        return DASH
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def rate(ips) -> str:
    if ips is None:
        return DASH
    return f"{ips / 1e3:,.0f}k/s" if ips >= 1e4 else f"{ips:,.0f}/s"


def size(n) -> str:
    if n is None:
        return DASH
    return f"{n / 1e3:.0f} KB" if n < 1e6 else f"{n / 1e6:.1f} MB"


def times(r) -> str:
    return DASH if r is None else f"{r:.2f}x" if r < 10 else f"{r:,.0f}x"


def fixed(v, digits: int = 4) -> str:
    return DASH if v is None else f"{v:.{digits}f}"


def accuracy(v) -> str:
    """A manifest's accuracy: a number, or the text saying there were no labels (a dash if unknown)."""
    return DASH if v is None else shown(v)


def percent(v) -> str:
    return DASH if v is None else f"{v:.0f}%"


# How a target's figure is shown, by its unit.
UNITS = {
    "x": lambda v: fixed(v, 2),
    "img/s": rate,
    "MB": lambda v: f"{v:.1f} MB",
    "s": lambda v: f"{v:.0f} s",
}


class Table:
    def __init__(self, title: str, headers: list[str]):
        self.title, self.headers, self.rows = title, headers, []

    def add(self, cells: list[str], problem: str | None = None) -> None:
        """A row; with `problem`, the cells after the first few are replaced by that text."""
        self.rows.append((cells, problem))

    def text(self) -> list[str]:
        widths = [
            max([len(h)] + [len(c[i]) for c, p in self.rows if p is None or i < len(c)])
            for i, h in enumerate(self.headers)
        ]

        def line(cells, problem=None):
            text = "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=False))
            )
            return f"{text}  {problem}" if problem else text.rstrip()

        lines = [self.title, line(self.headers), "-" * (sum(widths) + 2 * (len(widths) - 1))]
        return lines + [line(c, p) for c, p in self.rows]

    def markdown(self) -> list[str]:
        lines = [
            f"**{self.title}**",
            "",
            "| " + " | ".join(self.headers) + " |",
            "|" + "|".join(":--" if i == 0 else "--:" for i in range(len(self.headers))) + "|",
        ]
        for cells, problem in self.rows:
            filled = cells + ([problem] if problem else [])
            filled += [""] * (len(self.headers) - len(filled))
            lines.append("| " + " | ".join(filled) + " |")
        return lines


def tables(report: dict) -> list[Table]:
    cores = report["machine"]["usable_cores"]
    main = Table(
        "Latency and throughput per variant",
        [
            "variant",
            "size",
            "accuracy",
            "agreement",
            "b1 p50",
            "b1 p99",
            "b1 min",
            "spread",
            f"b1 p50 {cores} cores",
            "best img/s (batch)",
            "vs Keras b1",
            "vs Keras b1024",
            "overhead",
            "% matmul",
            "peak RSS",
        ],
    )
    details = Table(
        "Per variant, besides the model",
        [
            "variant",
            "load to first result",
            "first inference",
            "PNG file to result",
            "batch 32",
            "batch 1,024",
            "bare engine b1",
        ],
    )
    for row in report["rows"]:
        head = [row["variant"], size(row["bytes"]), accuracy(row["accuracy"]), fixed(row["agreement"])]
        problem = f"{row['status']}: {row['problem']}" if row["problem"] else None
        if problem:
            main.add(head, problem)
            details.add(head[:1], problem)
            continue
        best = f"{rate(row['best_ips'])} ({row['best_batch']})" if row["best_batch"] else DASH
        main.add(
            head
            + [
                seconds(row["b1_p50"]),
                seconds(row["b1_p99"]),
                seconds(row["b1_min"]),
                percent(None if row["b1_spread"] is None else 100 * row["b1_spread"]),
                seconds(row["b1_all_p50"]),
                best,
                times(row["keras_speedup_b1"]),
                times(row["keras_speedup_b1024"]),
                times(row["overhead"]),
                percent(row["matmul_pct"]) + "?" * bool(row["matmul_doubt"]),
                size(row["peak_bytes"]),
            ]
        )
        details.add(
            [
                row["variant"],
                seconds(row["load_p50"]),
                seconds(row["first_p50"]),
                seconds(row["png_p50"]),
                rate(row["b32_ips"]),
                rate(row["b1024_ips"]),
                seconds(row["bare_p50"]),
            ]
        )
    references = Table(
        "Reference rows, measured in the same run", ["reference", "p50", "p99", "min", "spread", "img/s"]
    )
    for ref in report["references"]:
        references.add(
            [
                ref["reference"],
                seconds(ref["p50"]),
                seconds(ref["p99"]),
                seconds(ref["min"]),
                percent(100 * ref["spread"]),
                rate(ref["ips"]),
            ]
        )
    cold = Table(
        "Cold start: one PNG, process start to exit", ["process", "p50", "min", "peak RSS", "vs predict CLI"]
    )
    for row in report["cold_start"]:
        if row["problem"]:
            cold.add([row["process"]], f"{row['status']}: {row['problem']}")
        else:
            cold.add(
                [
                    row["process"],
                    seconds(row["p50"]),
                    seconds(row["min"]),
                    size(row["peak_bytes"]),
                    times(row["vs_predict_cli"]),
                ]
            )
    goals = Table(
        "Figures to reach on this machine", ["figure", "p50", "goal", "verdict", "from min", "note"]
    )
    for t in report["targets"]:
        show = UNITS[t["unit"]]
        value, from_min = (DASH if v is None else show(v) for v in (t["value"], t["from_min"]))
        goal = DASH if t["goal"] is None else t["goal"] + ("" if t["unit"] == "x" else f" {t['unit']}")
        goals.add([t["figure"], value, goal, t["verdict"], from_min, t["doubt"] or ""])
    return [main, details, references, cold, goals]


def header_lines(report: dict) -> list[str]:
    """The machine, and the commit the code was measured at."""
    commit = report["commit"]
    made = "unknown (not a git checkout)"
    if commit:
        made = commit["hash"] + (" (the tree had uncommitted changes)" if commit["dirty"] else "")
    return describe(report["machine"]) + [f"commit    {made}"]


def terminal(report: dict) -> list[str]:
    lines = header_lines(report) + [""]
    for table in tables(report):
        lines += table.text() + [""]
    return lines + [LEGEND, f"measured in {report['elapsed_seconds']:.0f} s"]


def markdown(report: dict) -> str:
    lines = ["# fmnist-edge latency benchmark", ""]
    lines += [f"{line}  " for line in header_lines(report)] + [""]
    for table in tables(report):
        lines += table.markdown() + [""]
    lines += [LEGEND, "", f"Measured in {report['elapsed_seconds']:.0f} s with `pytest --benchmark`."]
    return "\n".join(lines) + "\n"
