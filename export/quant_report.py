"""The sweep's report: the table on stdout, report.json, report.md, report.png (agreement against
batch-1 latency), and the per-layer tables (layers.md) and chart (layers.png).

matplotlib draws the charts (the dev dependency group, which `make quant-report` installs).
"""

from pathlib import Path

from export.layers import DEBUG_IMAGES, FLOAT, LayerError, outputs, worst
from export.layers import rows as layer_rows
from export.layers import table as layer_table
from export.recipes import REPORT, VALIDATION_IMAGES, QuantRecipe
from runtime.choice import LATENCY_BAND
from runtime.files import write_json

TARGET_AGREEMENT = 0.99
LAYERS_INTRO = (
    "# Per-layer error of the int8 variants\n\n"
    "ONNX (onnxruntime's qdq_loss_debug): each tensor against the float model's, so it inherits the error "
    "of the layers before; TFLite (TensorFlow's QuantizationDebugger): each op against the float op given "
    f"the same input, its own error. max abs diff: the largest difference on one image, averaged over "
    f"{DEBUG_IMAGES} test images.\n\n"
)
HEADER = (
    "engine",
    "recipe",
    "accuracy",
    "agreement",
    "held out",
    "max diff",
    "size",
    "b1 latency",
    "b1024 img/s",
    "",
)


def cells(row: dict) -> tuple:
    mark = "chosen" if row["chosen"] else ""
    mark += (" (baseline)" if mark else "baseline") if row["baseline"] else ""
    return (
        row["engine"],
        row["label"],
        f"{row['accuracy']:.4f}",
        f"{row['agreement']:.4f}",
        f"{row['validation_agreement']:.4f}",
        f"{row['max_abs_diff']:.3f}",
        f"{row['bytes'] / 1024:.1f} KiB",
        f"{row['b1_seconds'] * 1e6:.2f} µs",
        f"{row['b1024_images_per_second'] / 1e3:,.0f}k",
        mark,
    )


def text_table(rows: list[dict]) -> str:
    lines = [cells(row) for row in rows]
    widths = [max(len(str(line[i])) for line in [HEADER, *lines]) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(
            str(c).ljust(w) if i < 2 or i == 8 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in [HEADER, *lines]
    )


def verdicts(rows: list[dict]) -> list[str]:
    """Per engine: what was chosen, whether it reaches the targets, and against the baseline."""
    lines = []
    for engine in dict.fromkeys(row["engine"] for row in rows):
        mine = [row for row in rows if row["engine"] == engine]
        chosen = next(row for row in mine if row["chosen"])
        baseline = next((row for row in mine if row["baseline"]), chosen)
        reached = "reached" if chosen["agreement"] >= TARGET_AGREEMENT else "NOT reached"
        latency = chosen["b1_seconds"] / baseline["b1_seconds"]
        throughput = chosen["b1024_images_per_second"] / baseline["b1024_images_per_second"]
        lines.append(
            f"{engine}: chosen '{chosen['label']}' (highest agreement on {VALIDATION_IMAGES:,} held-out "
            f"training images within {LATENCY_BAND:.0%} of the fastest batch-1 latency): test-set agreement "
            f"{chosen['agreement']:.4f}, target {TARGET_AGREEMENT} "
            f"{reached}; baseline '{baseline['label']}' {baseline['agreement']:.4f}; batch 1 {latency:.2f}x "
            f"the baseline's time, batch 1,024 {throughput:.2f}x its throughput"
        )
    return lines


def markdown(report: dict, layers: dict[tuple[str, QuantRecipe], list[LayerError]]) -> tuple[str, str]:
    """report.md and layers.md."""
    lines = ["| " + " | ".join(HEADER[:-1]) + " | |", "|:--|:--|" + "--:|" * 6 + ":--|"]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in report["rows"]]
    timing = report["timing"]
    head = (
        f"# int8 recipes, measured\n\n{len(report['rows'])} candidates in {report['seconds']} s. "
        f"Latency and throughput through the runtime's Predictor: the best short repeat in "
        f"{timing['rounds']} passes over all candidates (the machine may be shared; the best repeat "
        f"is the least disturbed; load average at the end {report['load_average'][0]}).\n\n"
    )
    summary = "\n".join(f"- {line}" for line in verdicts(report["rows"]))
    per_layer = LAYERS_INTRO
    per_layer += "\n\n".join(layer_table(engine, recipe, found) for (engine, recipe), found in layers.items())
    return head + summary + "\n\n" + "\n".join(lines) + "\n", per_layer + "\n"


def pyplot():
    """matplotlib's pyplot drawing to files only (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def agreement_chart(rows: list[dict], path: Path) -> Path:
    plt = pyplot()
    engines = list(dict.fromkeys(row["engine"] for row in rows))
    figure, axes = plt.subplots(1, len(engines), figsize=(6 * len(engines), 4.5), squeeze=False)
    for axis, engine in zip(axes[0], engines, strict=True):
        mine = [row for row in rows if row["engine"] == engine]
        fastest = min(row["b1_seconds"] for row in mine) * 1e6
        axis.axvspan(fastest, fastest * (1 + LATENCY_BAND), color="0.9", label="within 10% of the fastest")
        axis.axhline(TARGET_AGREEMENT, color="tab:green", linestyle="--", linewidth=1, label="target 99.0%")
        axis.scatter(
            [r["b1_seconds"] * 1e6 for r in mine],
            [r["agreement"] for r in mine],
            s=14,
            color="0.4",
            label="candidates",
        )
        for key, style in (
            ("baseline", dict(marker="s", color="tab:blue")),
            ("chosen", dict(marker="*", s=160, color="tab:red")),
        ):
            for row in (r for r in mine if r[key]):
                axis.scatter(
                    row["b1_seconds"] * 1e6, row["agreement"], label=f"{key}: {row['label']}", **style
                )
        axis.set(
            title=f"{engine}-int8", xlabel="batch-1 latency (µs, best repeat)", ylabel="agreement with Keras"
        )
        axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def layers_chart(layers: dict[tuple[str, QuantRecipe], list[LayerError]], path: Path) -> Path:
    plt = pyplot()
    figure, axes = plt.subplots(len(layers), 1, figsize=(9, 2.2 * len(layers)), squeeze=False)
    for axis, ((engine, recipe), found) in zip(axes[:, 0], layers.items(), strict=True):
        shown = outputs(found, quantized_only=False)[::-1]  # the input at the top
        names = [f"{layer.op} {layer.layer.split(';')[-1][-40:]}" for layer in shown]
        colours = [
            "tab:red" if layer is worst(found) else "0.6" if FLOAT in layer.op else "tab:blue"
            for layer in shown
        ]
        axis.barh(names, [max(layer.max_abs_diff, 1e-9) for layer in shown], color=colours)
        axis.set_xscale("log")
        axis.set_xlim(1e-9, 1)  # one scale for every panel
        axis.set_title(f"{engine}-int8 ({recipe.label()})", fontsize=9)
        axis.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel(
        "largest difference from float on an image, averaged over the images "
        "(red: the worst layer; grey: a layer left float)",
        fontsize=8,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_report(report: dict, layers: dict[tuple[str, QuantRecipe], list[LayerError]], out: Path) -> dict:
    """Write every file of the report into `out`, print the table and the verdicts; returns the report."""
    out.mkdir(parents=True, exist_ok=True)
    report["layers"] = [
        {
            "engine": engine,
            "recipe": recipe.summary(),
            "worst": worst(found).layer,
            "layers": layer_rows(found),
        }
        for (engine, recipe), found in layers.items()
    ]
    report_md, layers_md = markdown(report, layers)
    (out / "report.md").write_text(report_md)
    (out / "layers.md").write_text(layers_md)
    files = [agreement_chart(report["rows"], out / "report.png"), layers_chart(layers, out / "layers.png")]
    write_json(out / REPORT, report)  # last: export follows it
    print(text_table(report["rows"]))
    print("\n".join(["", *verdicts(report["rows"])]))
    for entry in report["layers"]:
        print(
            f"worst layer of {entry['engine']}-int8 ({QuantRecipe.from_summary(entry['recipe']).label()}): "
            f"{entry['worst']}"
        )
    print(
        f"\n{len(report['rows'])} candidates in {report['seconds']} s; wrote {out / REPORT}, "
        + ", ".join(p.name for p in [out / "report.md", out / "layers.md", *files])
    )
    return report
