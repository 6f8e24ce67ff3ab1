"""`python -m web.build` writes a static page from the manifest's ONNX variants and refuses what it
cannot use with one line, leaving the previous page as it was; `python -m web.serve` sends the
headers of its `_headers` file, and leaves out only COOP and COEP when told."""

import json
import urllib.request

import pytest

from runtime.files import sha256_file
from tests.conftest import run_cli
from tests.web import site_fixture, variants  # noqa: F401
from web.build import ENGINE_FILES, BuildError, build
from web.chromium import served

ISOLATION = {"cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp"}


def test_the_page_holds_the_engine_and_the_onnx_variants_it_checks(site, artifacts):
    manifest = json.loads((artifacts / "manifest.json").read_text())
    onnx = {e["variant"]: e for e in manifest["artifacts"] if e["format"] == "onnx"}
    assert [v["variant"] for v in variants(site)] == ["onnx-int8", "onnx-float32"]  # int8 is the default
    assert {"onnx-float16", "onnx-dynamic"} <= set(onnx)  # the other precisions stay off the page
    for variant in variants(site):
        assert variant["sha256"] == onnx[variant["variant"]]["sha256"] == sha256_file(site / variant["path"])
    site_json = json.loads((site / "site.json").read_text())
    assert site_json["classes"] == manifest["classes"]
    assert all((site / "ort" / name).is_file() for name in ENGINE_FILES)
    assert all((site / name).is_file() for name in site_json["files"] if name != "./")


def fake_manifest(folder, entries, preprocessing="fashion-mnist"):
    """A manifest whose (variant, path, format) entries name no real file."""
    folder.mkdir()
    figures = {"accuracy": 0.9, "agreement": 1.0, "max_abs_diff": 0.0}
    artifacts = [
        {"variant": v, "path": p, "format": f, "precision": "float32", "bytes": 1, "sha256": "0", **figures}
        for v, p, f in entries
    ]
    given = {"shape": [None, 28, 28], "range": "0-1", "colour": "greyscale", "preprocessing": preprocessing}
    manifest = {"classes": ["a", "b"], "input": given, "artifacts": artifacts, "reference": "reference.npz"}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_a_folder_without_a_manifest_or_onnx_variants_is_refused(tmp_path):
    out = tmp_path / "dist" / "web"
    tflite_only = fake_manifest(tmp_path / "tflite", [("tflite-float32", "m.tflite", "tflite")])
    resized = fake_manifest(tmp_path / "resized", [("onnx-float32", "m.onnx", "onnx")], "resize")
    for folder, reason in [
        (tmp_path / "none", "no manifest here; run `make train export` first"),
        (tflite_only, "has no ONNX variant for the page; run `make export`"),
        (
            resized,
            "the page frames images as Fashion-MNIST for models of 0..1 inputs; this model takes "
            "28x28 greyscale images of 0-1, prepared by resize",
        ),
    ]:
        result = run_cli("web.build", "--artifacts", folder, "--out", out, check=False)
        assert (result.returncode, result.stderr) == (1, f"error: {folder / 'manifest.json'}: {reason}\n")
    assert not out.parent.exists()


def test_a_damaged_model_is_refused_and_the_old_page_kept(artifacts_copy, tmp_path):
    out = tmp_path / "dist" / "web"
    out.mkdir(parents=True)
    (out / "index.html").write_text("the previous page")
    model = next(artifacts_copy.glob("run-*/model_int8.onnx"))
    data = bytearray(model.read_bytes())
    data[100] ^= 1
    model.write_bytes(data)
    result = run_cli("web.build", "--artifacts", artifacts_copy, "--out", out, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {model.resolve()}: checksum mismatch: ")
    assert [p.name for p in out.parent.iterdir()] == ["web"]  # no staging folder left
    assert (out / "index.html").read_text() == "the previous page"


def test_without_onnx_runtime_web_installed_the_build_says_how_to_install_it(artifacts, tmp_path):
    with pytest.raises(BuildError, match=r"onnxruntime-web: not installed; run `npm ci` \(make web does\)"):
        build(artifacts, tmp_path / "web", node_modules=tmp_path / "node_modules")
    assert list(tmp_path.iterdir()) == []


def headers(url: str) -> dict[str, str]:
    with urllib.request.urlopen(url) as response:
        return {name.lower(): value for name, value in response.headers.items()}


def test_the_server_sends_the_pages_headers_and_isolation_only_when_asked(site):
    with served(site) as url:
        isolated, wasm = headers(url), headers(url + "ort/ort-wasm-simd-threaded.wasm")
    with served(site, isolation=False) as url:
        plain = headers(url)
    assert "'wasm-unsafe-eval'" in isolated["content-security-policy"]
    assert isolated.items() >= ISOLATION.items() and wasm["content-type"] == "application/wasm"
    assert not ISOLATION.keys() & plain.keys()
    assert plain["content-security-policy"] == isolated["content-security-policy"]


def test_the_server_refuses_a_folder_that_is_not_a_page_and_a_busy_port(tmp_path):
    result = run_cli("web.serve", tmp_path, check=False)
    assert (result.returncode, result.stderr) == (
        1,
        f"error: {tmp_path}: not a built page (no index.html and _headers); run `make web`\n",
    )
    (tmp_path / "index.html").write_text("")
    (tmp_path / "_headers").write_text("/*\n  X-Test: 1\n")
    with served(tmp_path) as url:
        port = url.rstrip("/").rsplit(":", 1)[1]
        result = run_cli("web.serve", tmp_path, "--port", port, check=False)
    assert (result.returncode, result.stderr) == (
        1,
        f"error: 127.0.0.1:{port}: cannot listen there (Address already in use)\n",
    )
