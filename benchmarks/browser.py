"""The browser as a device: the built page (dist/web) in Debian's headless Chromium, cross-origin
isolated, beside native onnxruntime measured in the same run on the same model files.

    python -m benchmarks.browser [--artifacts artifacts] [--dist dist/web] [--out DIR]   (make bench-web)

Per ONNX variant: batch-1 latency (median of blocks of BLOCK calls, on the page's 5 us clock),
batch-256 images/s, the page opened until its model has run once (in a new profile, nothing
cached; then again, cached), accuracy on the 10,000 test images; wasm bytes and threads. Native:
the Predictor on the manifest's entry for the same file (same sha256), with as many threads, its
load as `make bench` measures it. Prints a table and writes device.json, benchmark.json,
evaluate.json and report.md in benchmarks/results/devices/browser/ for `make report`, which shows
the browser beside the other devices (a run that cannot happen is a device with its reason).
"""

import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import runtime
from benchmarks import DEVICES
from benchmarks.table import rate, seconds, size
from runtime import cli
from runtime.dataset import load_split
from runtime.errors import ModelError, ToolkitError, one_line
from runtime.files import write_json
from runtime.machine import fingerprint
from runtime.manifest import MANIFEST, Manifest
from web.build import size as folder_size
from web.chromium import chromium, encoded, load, predict, served, unavailable

NAME = "browser"
READY = "model ready"  # web/app.js's performance mark: its model has loaded and run once
BLOCK = 20  # calls timed together: the isolated page's clock has 5 us steps, a call takes tens
BLOCKS = 200
BATCH = 256
BATCH_RUNS = 30
COLD_RUNS = 5

WARM_UP = 3  # rounds untimed
ROUNDS = 10  # the browser and native timed in turns, so that both see the same load on the machine
# In the page, on window.model (web.chromium.load): BLOCKS / ROUNDS blocks of BLOCK one-image calls,
# then BATCH_RUNS / ROUNDS calls of a batch; seconds per call.
TIMING = """async ([encoded, block, blocks, batch, batchRuns]) => {
  const pixels = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
  const b1 = [];
  for (let k = 0; k < blocks; k++) {
    const start = performance.now();
    for (let i = 0; i < block; i++) await window.model.predict(pixels.subarray(784 * i, 784 * (i + 1)), 1);
    b1.push((performance.now() - start) / block / 1000);
  }
  const many = [];
  for (let k = 0; k < batchRuns; k++) {
    const start = performance.now();
    await window.model.predict(pixels.subarray(0, 784 * batch), batch);
    many.push((performance.now() - start) / 1000);
  }
  return { b1, many };
}"""
WASM_BYTES = "performance.getEntriesByType('resource').find((e) => e.name.endsWith('.wasm')).decodedBodySize"


def page_loads(browser, url: str, variant: str) -> tuple[float, float]:
    """Seconds from opening the page to its model having run once: in a new profile (nothing
    cached), then again in the same one (the browser's caches warm, compiled wasm included)."""
    context = browser.new_context()
    seconds = []
    for _ in range(2):
        page = context.new_page()
        page.goto(f"{url}?variant={variant}")
        page.wait_for_selector("body[data-state=ready]")
        seconds.append(
            page.evaluate(f"performance.getEntriesByName({json.dumps(READY)})[0].startTime") / 1000
        )
        page.close()
    context.close()
    return seconds[0], seconds[1]


def native_timing(predictor, sample: np.ndarray) -> dict:
    """What TIMING measures in the page, through the native Predictor."""
    b1, many = [], []
    for _ in range(BLOCKS // ROUNDS):
        start = time.perf_counter()
        for i in range(BLOCK):
            predictor.predict(sample[i])
        b1.append((time.perf_counter() - start) / BLOCK)
    for _ in range(BATCH_RUNS // ROUNDS):
        start = time.perf_counter()
        predictor.predict(sample[:BATCH])
        many.append(time.perf_counter() - start)
    return {"b1": b1, "many": many}


def native_load(artifacts: Path, variant: str, threads: int, image: np.ndarray) -> float:
    """Seconds to load a variant and predict one image in this running process, as `make bench`."""
    loads = []
    for _ in range(COLD_RUNS):
        start = time.perf_counter()
        runtime.load(artifacts, variant=variant, threads=threads).predict(image)
        loads.append(time.perf_counter() - start)
    return statistics.median(loads)


def variant_row(browser, url: str, index: int, artifacts: Path, test_set) -> dict:
    """One variant in the page and natively, with as many threads: batch-1 and batch-256 timed in
    turns, the loads, parity on the test set."""
    images, labels = test_set
    page = browser.new_page()
    page.goto(url)
    facts = load(page, index) | {"wasm_bytes": page.evaluate(WASM_BYTES)}
    predictor = runtime.load(artifacts, variant=facts["variant"], threads=facts["threads"])
    sample = np.ascontiguousarray(images[: max(BLOCK, BATCH)])
    args = [encoded(sample), BLOCK, BLOCKS // ROUNDS, BATCH, BATCH_RUNS // ROUNDS]
    for _ in range(WARM_UP):  # V8 compiles the hot wasm functions again, optimised, in the background
        page.evaluate(TIMING, args)
        native_timing(predictor, sample)
    times = {"browser": {"b1": [], "many": []}, "native": {"b1": [], "many": []}}
    for _ in range(ROUNDS):
        for side, measured in (
            ("browser", page.evaluate(TIMING, args)),
            ("native", native_timing(predictor, sample)),
        ):
            for key, values in measured.items():
                times[side][key] += values
    ours, theirs = predict(page, images), predictor.predict(images)
    page.close()
    loads = [page_loads(browser, url, facts["variant"]) for _ in range(COLD_RUNS)]
    return facts | {
        "status": "ok",
        "problem": None,
        "b1_p50": statistics.median(times["browser"]["b1"]),
        "b256_ips": BATCH / statistics.median(times["browser"]["many"]),
        "load_p50": statistics.median(cold for cold, _ in loads),
        "warm_load_p50": statistics.median(warm for _, warm in loads),
        "native_b1_p50": statistics.median(times["native"]["b1"]),
        "native_b256_ips": BATCH / statistics.median(times["native"]["many"]),
        "native_load_p50": native_load(artifacts, facts["variant"], facts["threads"], images[0]),
        "best_ips": BATCH / statistics.median(times["browser"]["many"]),
        "best_batch": BATCH,
        "peak_bytes": None,
        "accuracy": float(np.mean(ours.argmax(axis=1) == labels)),
        "agreement": float(np.mean(ours.argmax(axis=1) == theirs.argmax(axis=1))),
        "max_abs_diff": float(np.abs(ours - theirs).max()),
    }


def measure(artifacts: Path, dist: Path) -> tuple[dict, list[dict], dict]:
    """The browser's machine record, a row per ONNX variant, and the page's facts."""
    site = json.loads((dist / "site.json").read_text())
    exported = {a.variant.name: a.file.sha256 for a in Manifest(artifacts / MANIFEST).artifacts}
    for entry in site["variants"]:
        if exported.get(entry["variant"]) != entry["sha256"]:
            raise ModelError(dist / entry["path"], f"not the model of {artifacts / MANIFEST}; run `make web`")
    test_set = load_split("test")
    with served(dist) as url, chromium() as browser:
        version = browser.version
        rows = [variant_row(browser, url, i, artifacts, test_set) for i in range(len(site["variants"]))]
    machine = fingerprint()
    engine = f"{site['engine']['version']} (WebAssembly, {rows[0]['threads']} thread(s), "
    engine += f"{size(rows[0]['wasm_bytes'])} of wasm)"
    machine |= {
        "os": f"Chromium {version} on {platform.platform(terse=True)}",
        "libraries": {site["engine"]["name"]: engine, "chromium": version},
    }
    page = {"chromium": version, "dist_bytes": folder_size(dist), "isolated": rows[0]["isolated"]}
    return machine, rows, page


def table(rows: list[dict], page: dict) -> str:
    lines = [
        f"Chromium {page['chromium']}, cross-origin isolated: {'yes' if page['isolated'] else 'no'}; "
        f"dist/web {size(page['dist_bytes'])}, of which wasm {size(rows[0]['wasm_bytes'])}; "
        f"threads {rows[0]['threads']} (native the same)",
        "",
        "| variant | b1 p50 browser | native | ratio | b256 img/s browser | native | ratio "
        "| load + first result browser: new profile | cached | native (in-process) | same class as native "
        "| max diff |",
        "|:--|" + "--:|" * 11,
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {seconds(r['b1_p50'])} | {seconds(r['native_b1_p50'])} "
            f"| {r['b1_p50'] / r['native_b1_p50']:.1f}x | {rate(r['b256_ips'])} "
            f"| {rate(r['native_b256_ips'])} | {r['native_b256_ips'] / r['b256_ips']:.1f}x slower "
            f"| {seconds(r['load_p50'])} | {seconds(r['warm_load_p50'])} "
            f"| {seconds(r['native_load_p50'])} | {r['agreement']:.4f} | {r['max_abs_diff']:.1e} |"
        )
    return "\n".join(lines)


def failed(out: Path, reason: str) -> int:
    """The browser as a device that could not run, with its reason (a row of `make report`)."""
    write_json(out / "device.json", {"name": NAME, "emulated": False, "status": "error", "reason": reason})
    print(f"error: {reason}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m benchmarks.browser", __doc__, cli.ARTIFACTS)
    parser.add_argument(
        "--dist", type=Path, default=Path("dist/web"), help="the built page (default: dist/web, make web)"
    )
    parser.add_argument("--out", type=Path, default=DEVICES / NAME, help="where the device's results go")
    return cli.run(bench_browser, parser, argv)


def bench_browser(args) -> int:
    reason = unavailable()
    if reason or not (args.dist / "site.json").is_file():
        return failed(args.out, reason or f"{args.dist}: no page here; run `make web`")
    started = time.monotonic()
    try:
        machine, rows, page = measure(args.artifacts, args.dist)
    except Exception as e:  # Playwright, the page or a model: the device is a row with its reason
        return failed(args.out, str(e) if isinstance(e, ToolkitError) else one_line(e))
    text = table(rows, page)
    bench = {
        "machine": machine,
        "elapsed_seconds": time.monotonic() - started,
        "rows": rows,
        "cold_start": [],
    }
    write_json(args.out / "benchmark.json", {"fmnist_edge": bench})
    keys = ("variant", "accuracy", "agreement", "max_abs_diff")
    write_json(args.out / "evaluate.json", {"variants": [{k: r[k] for k in keys} for r in rows]})
    (args.out / "report.md").write_text(f"# {NAME}\n\n{text}\n")
    write_json(args.out / "device.json", {"name": NAME, "emulated": False, "status": "ok"} | page)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
