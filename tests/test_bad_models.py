"""Damaged and hostile model files: each is refused with one line naming the file and the reason,
never a crash, a hang or a traceback.

A corpus of damaged models (empty, 5 bytes, truncated, bytes flipped, a git-lfs pointer, an HTML
page, one format named as the other, a Keras zip, wrong input shape or class count, an operator
swapped) goes through `runtime.load` and `python -m runtime.predict` as bare files, each in its own
process with a timeout, and through a manifest, where the checksum refuses every one of them before
an engine is even imported. (Damaged manifests and the Keras model's checks are in
test_export_robustness.py.)
"""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import runtime
from runtime.manifest import MANIFEST, Manifest
from runtime.probe import probe
from tests.conftest import ROOT, RUNNABLE, run_cli, run_python
from tests.tiny import TinyModel

TIMEOUT = 60  # seconds for one bare load (the probe itself gives up after 30)
LOAD = """
import sys, numpy as np, runtime
try:
    y = runtime.load(sys.argv[1]).predict(np.zeros((4, 28, 28), np.uint8))
except runtime.ModelError as e:
    sys.exit(str(e))
print("loaded", y.shape, bool(np.isfinite(y).all()))
"""
LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize {}\n"
HTML_PAGE = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Sign in first</body></html>\n"
CANNOT_LOAD = "cannot load it"  # what both engines' refusals say


def tiny_onnx(path: Path, input_shape=(28, 28), classes=10, input_type="FLOAT") -> Path:
    """A real ONNX classifier (Cast, Reshape, MatMul, Softmax) whose shapes and input type the test
    chooses."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    pixels = int(np.prod(input_shape))
    initializers = [
        numpy_helper.from_array(np.full((pixels, classes), 0.01, np.float32), "weights"),
        numpy_helper.from_array(np.array([-1, pixels], np.int64), "flat_shape"),
    ]
    nodes = [
        helper.make_node("Cast", ["image"], ["pixels"], to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["pixels", "flat_shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "weights"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    image = helper.make_tensor_value_info("image", getattr(TensorProto, input_type), ["N", *input_shape])
    output = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", classes])
    graph = helper.make_graph(nodes, "tiny", [image], [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, path)
    return path


def swap_last_operator(data: bytes) -> bytes:
    """The TFLite model with its last operator (softmax) turned into another op of the model that
    expects other inputs: structurally valid, so only running it shows the damage. While fuzzing,
    this kind of edit crashed LiteRT itself (SIGSEGV)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    operators = model.subgraphs[0].operators
    operators[-1].opcodeIndex = operators[1].opcodeIndex
    builder = flatbuffers.Builder(len(data))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :]


@pytest.fixture(scope="module")
def corpus(artifacts, tmp_path_factory) -> dict[str, tuple[Path, str | None]]:
    """name -> (file, expected): a reason the refusal must give, or None where the damage may be
    invisible without a checksum (a flipped weight still makes a working model)."""
    folder = tmp_path_factory.mktemp("damaged")
    manifest = Manifest(artifacts / MANIFEST)
    cases = {}

    def add(name: str, data: bytes, suffix: str, expected: str | tuple[str, ...] | None):
        path = folder / f"{name}{suffix}"
        path.write_bytes(data)
        cases[path.name] = (path, expected)

    for name in ("tflite-int8", "onnx-int8"):
        source = manifest.artifact(name).verify().path
        data, suffix, fmt = source.read_bytes(), source.suffix, name.split("-")[0]
        add(f"empty-{fmt}", b"", suffix, "empty file")
        add(f"5-bytes-{fmt}", data[:5], suffix, "only 5 bytes")
        for cut in (64, len(data) // 10, len(data) // 2, len(data) - 1):
            add(f"truncated-at-{cut}-{fmt}", data[:cut], suffix, CANNOT_LOAD)
        # ONNX's first byte is its signature (a ModelProto field tag); TFLite's is at byte 4
        add(
            f"flipped-at-0-{fmt}",
            flip(data, 0),
            suffix,
            "not a .onnx model" if fmt == "onnx" else CANNOT_LOAD,
        )
        for offset in (4, 12, 100, len(data) // 3, len(data) // 2, len(data) - 40, len(data) - 5):
            add(f"flipped-at-{offset}-{fmt}", flip(data, offset), suffix, None)
        pointer = LFS_POINTER.format(
            manifest.artifact(name).as_json(manifest.folder)["sha256"], len(data)
        ).encode()
        add(f"git-lfs-pointer-{fmt}", pointer, suffix, "git-lfs pointer")
        add(f"html-page-{fmt}", HTML_PAGE, suffix, "HTML page")
    add(
        "onnx-named-tflite",
        manifest.artifact("onnx-int8").verify().path.read_bytes(),
        ".tflite",
        "rename it to .onnx",
    )
    add(
        "tflite-named-onnx",
        manifest.artifact("tflite-int8").verify().path.read_bytes(),
        ".onnx",
        "rename it to .tflite",
    )
    keras_zip = manifest.artifact("keras").verify().path.read_bytes()
    add("model", keras_zip, ".keras", "needs tensorflow")
    add("keras-named-tflite", keras_zip, ".tflite", "zip archive")
    add("keras-named-onnx", keras_zip, ".onnx", "zip archive")
    # LiteRT either reports the bad node or reads past its inputs and crashes, depending on what its
    # heap holds (the file's path, the code imported before): the probe makes both one clean line.
    add(
        "last-operator-swapped",
        swap_last_operator(manifest.artifact("tflite-float32").verify().path.read_bytes()),
        ".tflite",
        ("fails to run", "engine crashed on it"),
    )
    add(
        "input-4x4-tflite",
        TinyModel(input_shape=(4, 4)).tflite(folder / "4.tflite").read_bytes(),
        ".tflite",
        "expects input shape [batch, 4, 4]; images of 8 to 512 pixels a side",
    )
    for name, kwargs, expected in (
        ("input-4x4", dict(input_shape=(4, 4)), "expects input shape"),
        (
            "input-28x28x2",
            dict(input_shape=(28, 28, 2)),
            "expects input shape [batch, 28, 28, 2]; a classifier",
        ),
        ("float64-input", dict(input_type="DOUBLE"), "tensor types tensor(double) -> tensor(float) are not"),
    ):
        path = tiny_onnx(folder / f"{name}-onnx.onnx", **kwargs)
        cases[path.name] = (path, expected)
    return cases


@pytest.fixture(scope="module")
def image(tmp_path_factory, test_set) -> Path:
    path = tmp_path_factory.mktemp("image") / "test-0.png"
    Image.fromarray(test_set[0][0]).save(path)
    return path


def outcome(result: subprocess.CompletedProcess | None, path: Path, expected: str | tuple | None) -> str:
    """'refused' or 'loaded' when the process behaved as a user needs; otherwise what went wrong."""
    if result is None:
        return "hung (timeout)"
    if result.returncode < 0:
        return f"killed by signal {-result.returncode}"
    lines = [line.removeprefix("error: ") for line in result.stderr.strip().splitlines()]  # CLI's prefix
    if result.returncode == 0:
        return "loaded" if expected is None else f"loaded, but should be refused ({expected})"
    if "Traceback" in result.stderr or len(lines) != 1:
        return f"exit {result.returncode} without one clean line:\n{result.stderr}"
    reasons = (expected,) if isinstance(expected, str) else expected or ()
    if not lines[0].startswith(f"{path}: ") or (reasons and not any(r in lines[0] for r in reasons)):
        return f"refused with the wrong message: {lines[0]!r} (expected {expected!r})"
    return "refused"


def run(command: list[str]) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None


def test_every_damaged_model_is_refused_cleanly_as_a_bare_file(corpus, image):
    """Each file through the library and the predict CLI, each in its own process with a timeout."""
    library = {name: [sys.executable, "-c", LOAD, str(path)] for name, (path, _) in corpus.items()}
    cli = {
        name: [sys.executable, "-m", "runtime.predict", "--model", str(path), str(image)]
        for name, (path, _) in corpus.items()
    }
    with ThreadPoolExecutor(2) as pool:  # two cores
        results = {
            (entry, name): pool.submit(run, command)
            for entry, commands in (("runtime.load", library), ("runtime.predict", cli))
            for name, command in commands.items()
        }
    outcomes = {key: outcome(future.result(), *corpus[key[1]]) for key, future in results.items()}
    problems = [
        f"{entry} {name}: {what}"
        for (entry, name), what in outcomes.items()
        if what not in ("refused", "loaded")
    ]
    refused = sum(what == "refused" for what in outcomes.values())
    print(
        f"\ndamaged models: {len(corpus)} files x 2 entry points = {len(outcomes)} tries, "
        f"{refused} refused cleanly, {sum(w == 'loaded' for w in outcomes.values())} loaded and ran "
        f"(a flipped weight; only a checksum can tell), {len(problems)} problems"
    )
    assert len(corpus) >= 40
    assert not problems, "\n".join(problems)


def test_the_manifest_refuses_every_damaged_model_before_an_engine_is_imported(corpus, artifacts_copy):
    """The same files put in place of a published variant: the checksum refuses each, and neither
    engine library is ever imported (so no engine parsed a byte)."""
    manifest = Manifest(artifacts_copy / MANIFEST)
    variants = {".tflite": "tflite-int8", ".onnx": "onnx-int8"}
    targets = {suffix: manifest.artifact(name).verify().path for suffix, name in variants.items()}
    swaps = [
        (str(path), str(targets[path.suffix]), variants[path.suffix])
        for path, _ in corpus.values()
        if path.suffix in targets
    ]
    code = f"""
import json, shutil, sys, runtime
refusals = []
for damaged, target, variant in {swaps!r}:
    shutil.copyfile(damaged, target)
    try:
        runtime.load({str(artifacts_copy)!r}, variant=variant)
        refusals.append("loaded " + damaged)
    except runtime.ModelError as e:
        refusals.append(str(e))
engines = sorted(m for m in sys.modules if m.startswith(("ai_edge_litert", "onnxruntime")))
print(json.dumps([refusals, engines]))
"""
    refusals, engines = json.loads(run_python(code).stdout.strip().splitlines()[-1])
    assert len(refusals) == len(swaps) >= 40
    for (_, target, _), refusal in zip(swaps, refusals, strict=True):
        assert refusal.startswith(f"{target}: checksum mismatch"), refusal
    assert engines == []


@pytest.mark.parametrize("name", ["tflite-float32", "tflite-int8", "onnx-float32", "onnx-int8"])
def test_one_changed_byte_is_refused_with_the_checksum_message(artifacts_copy, image, name):
    """The tampered-artifact requirement, through the library and the predict CLI."""
    path = Manifest(artifacts_copy / MANIFEST).artifact(name).verify().path
    data = path.read_bytes()
    path.write_bytes(flip(data, len(data) // 2))  # the middle: weights, which no engine checks
    with pytest.raises(runtime.ModelError, match="checksum mismatch") as refused:
        runtime.load(artifacts_copy, variant=name)
    assert refused.value.path == str(path)
    result = run_cli("runtime.predict", "--artifacts", artifacts_copy, "--model", name, image, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"error: {refused.value}"]


def test_evaluate_refuses_every_tampered_variant(artifacts_copy):
    manifest = Manifest(artifacts_copy / MANIFEST)
    names = [name for name in RUNNABLE if manifest.find(name)]
    for name in names:
        path = manifest.artifact(name).verify().path
        path.write_bytes(flip(path.read_bytes(), 100))
    result = run_cli("runtime.evaluate", "--artifacts", artifacts_copy, "--json", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    rows = {row["variant"]: row for row in json.loads(result.stdout)["variants"]}
    assert sorted(rows) == sorted(names)
    for name in names:
        assert not rows[name]["ok"] and "checksum mismatch" in rows[name]["error"]


def test_genuine_bare_files_pass_the_probe_and_match_the_manifest_path(artifacts, test_set):
    images = test_set[0][:500]
    manifest = Manifest(artifacts / MANIFEST)
    for name in ("tflite-int8", "onnx-float32"):
        bare = runtime.load(manifest.artifact(name).verify().path).predict(images)
        np.testing.assert_array_equal(bare, runtime.load(artifacts, variant=name).predict(images))


def test_the_manifest_path_starts_no_child_process(artifacts, monkeypatch):
    """With a manifest the checksum is the guard: no probe, so loading stays fast on a device."""
    children = []
    start_child = subprocess.run
    monkeypatch.setattr(
        "runtime.probe.subprocess.run", lambda *a, **k: children.append(a) or start_child(*a, **k)
    )
    runtime.load(artifacts, variant="tflite-int8")
    assert children == []
    runtime.load(
        Manifest(artifacts / MANIFEST).artifact("tflite-int8").verify().path
    )  # a bare file does start one
    assert len(children) == 1 and children[0][0][1:3] == ["-m", "runtime.probe"]


CHILD_MISBEHAVES = """
import os, signal, sys, time
if "runtime.probe" in sys.orig_argv:  # only in the probe's child: the engine "crashes" or hangs
    {action}
"""


@pytest.mark.parametrize(
    "action, expected",
    [
        ("os.kill(os.getpid(), signal.SIGSEGV)", "the engine crashed on it (SIGSEGV)"),
        ("os.abort()", "the engine crashed on it (SIGABRT)"),
        ("time.sleep(60)", "the engine did not finish loading it within 2 s"),
    ],
    ids=["segfault", "abort", "hang"],
)
def test_a_crash_or_hang_while_probing_becomes_a_model_error(
    artifacts, tmp_path, monkeypatch, action, expected
):
    """A real engine crash cannot be produced on demand, so the child is made to crash the way a
    native crash ends a process (a signal), or to hang; the caller must get a ModelError."""
    (tmp_path / "sitecustomize.py").write_text(CHILD_MISBEHAVES.format(action=action))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    path = Manifest(artifacts / MANIFEST).artifact("tflite-int8").verify().path
    with pytest.raises(runtime.ModelError) as refused:
        probe(path, threads=1, timeout=2)
    assert str(refused.value).startswith(f"{path}: {expected}")


def test_the_probe_child_never_imports_tensorflow(artifacts):
    path = Manifest(artifacts / MANIFEST).artifact("onnx-int8").verify().path
    code = (
        f"import sys, runtime.probe as p\nassert p.main([{str(path)!r}, '1']) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))"
    )
    assert run_python(code).stdout.strip().splitlines()[-1] == "[]"
