"""`make bench-device` against a real OpenSSH server (Debian's sshd) started on 127.0.0.1 at a free
port with a throwaway host key, user key and home folder, and stopped at the end: the "device" is
this machine. Beside it, devices that fail in each way the issue lists (host key mismatch, refused,
dropped half-way through the copy, no python3, too slow) run in the same parallel run and are rows
with their reasons, while the good one is unaffected.
"""

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli

SSHD = "/usr/sbin/sshd"
DROP_AFTER = 1_000_000  # bytes from the client: the probe passes, the copy of the archive is cut
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not Path(SSHD).exists() or shutil.which("ssh") is None,
    reason="needs root and OpenSSH (apt-get install openssh-server openssh-client; `make device-tools`)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dropping_proxy(target: int) -> int:
    """A TCP proxy to `target` that closes both ends once the client has sent DROP_AFTER bytes."""
    server = socket.create_server(("127.0.0.1", 0))

    def pump(source, sink, counted):
        sent = 0
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                sent += len(data)
                if counted and sent > DROP_AFTER:
                    break
        except OSError:
            pass
        for end in (source, sink):
            end.close()

    def serve():
        while True:
            client, _ = server.accept()
            upstream = socket.create_connection(("127.0.0.1", target))
            threading.Thread(target=pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client, False), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1]


def keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


def host(alias: str, port: int, folder: Path, known: str = "known_hosts", **more) -> str:
    lines = [
        f"Host {alias}",
        "  HostName 127.0.0.1",
        f"  Port {port}",
        "  User root",
        f"  IdentityFile {folder}/id_user",
        "  IdentitiesOnly yes",
        "  IdentityAgent none",
        f"  UserKnownHostsFile {folder}/{known}",
        "  StrictHostKeyChecking yes",
    ]
    return "\n".join(lines + [f"  {k} {v}" for k, v in more.items()]) + "\n"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """sshd on free loopback ports; yields an ssh_config naming a good host and failing ones. Each
    port the hosts that get past the probe use has its own home folder, as separate boards would:
    the dropped one through a proxy, the one whose PATH has no python3."""
    folder = tmp_path_factory.mktemp("sshd")
    port, drop_port, no_python_port = free_port(), free_port(), free_port()
    bin_without_python = folder / "bin"
    bin_without_python.mkdir()
    for tool in ("sh", "uname", "df", "awk"):
        (bin_without_python / tool).symlink_to(shutil.which(tool))
    for home in ("home", "home-dropped", "home-no-python"):
        (folder / home).mkdir()
    host_key, other_key = keygen(folder / "host_key"), keygen(folder / "other_key")
    (folder / "authorized_keys").write_text(keygen(folder / "id_user") + "\n")
    (folder / "sshd_config").write_text(
        f"Port {port}\nPort {drop_port}\nPort {no_python_port}\nListenAddress 127.0.0.1\n"
        f"HostKey {folder}/host_key\nPidFile {folder}/sshd.pid\nAuthorizedKeysFile {folder}/authorized_keys\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "UsePAM no\nStrictModes no\n"
        f"Match LocalPort {port}\n  SetEnv HOME={folder}/home\n"
        f"Match LocalPort {drop_port}\n  SetEnv HOME={folder}/home-dropped\n"
        f"Match LocalPort {no_python_port}\n"
        f"  SetEnv HOME={folder}/home-no-python PATH={bin_without_python}\n"
    )
    proxy = dropping_proxy(drop_port)
    (folder / "known_hosts").write_text(
        "".join(f"[127.0.0.1]:{p} {host_key}\n" for p in (port, proxy, no_python_port))
    )
    (folder / "known_hosts_other").write_text(f"[127.0.0.1]:{port} {other_key}\n")
    (folder / "ssh_config").write_text(
        host("loopback", port, folder)
        + host("badkey", port, folder, "known_hosts_other")
        + host("dropper", proxy, folder)
        + host("refused", free_port(), folder)
        + host("nopython", no_python_port, folder)
        + host("slow", port, folder, ProxyCommand="sleep 30")
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder
    server = subprocess.Popen([SSHD, "-D", "-e", "-f", str(folder / "sshd_config")], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()
            time.sleep(0.1)
    yield folder
    server.terminate()
    server.wait(timeout=10)


def bench_device(*args) -> subprocess.CompletedProcess:
    return run_cli("device.ssh", *args, timeout=900, check=False)


def rows(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/device.json")}


@pytest.fixture(scope="module")
def ran(sshd, artifacts, tmp_path_factory):
    """One parallel run over the good host and every failing one."""
    out, dist = tmp_path_factory.mktemp("devices"), tmp_path_factory.mktemp("dist")
    done = bench_device(
        "loopback",
        "badkey",
        "refused",
        "dropper",
        "nopython",
        "--smoke",
        "--engine",
        "litert",
        "--ssh-config",
        sshd / "ssh_config",
        "--artifacts",
        artifacts,
        "--dist",
        dist,
        "--out",
        out,
    )
    return done, out


def test_the_loopback_device_runs_everything_and_its_results_come_back(ran, sshd):
    done, out = ran
    device = rows(out)["loopback"]
    assert device["status"] == "ok", device
    assert device["arch"] == os.uname().machine and not device["emulated"]
    folder = out / "loopback"
    bench = json.loads((folder / "benchmark.json").read_text())["fmnist_edge"]
    assert {r["variant"]: r["status"] for r in bench["rows"]}["tflite-int8"] == "ok"
    assert json.loads((folder / "evaluate.json").read_text())["ok"]
    assert len((folder / "predict.jsonl").read_text().splitlines()) == 10
    assert "tflite-int8" in json.loads((folder / "doctor.json").read_text())["recommend"].values()
    assert (sshd / "home" / "fmnist-edge" / device["archive"].removesuffix(".tar.gz") / ".venv").is_dir()
    assert f"loopback: ok ({os.uname().machine}" in done.stdout


@pytest.mark.parametrize(
    ("alias", "reason"),
    [
        ("badkey", "probing: Host key verification failed."),
        ("refused", "probing: ssh: connect to host 127.0.0.1 port"),
        ("dropper", "copying the bundle:"),
        ("nopython", "has no python3"),
    ],
)
def test_a_failing_device_is_a_row_with_its_reason(ran, alias, reason):
    done, out = ran
    assert done.returncode == 1
    device = rows(out)[alias]
    assert device["status"] == "error" and device["reason"].startswith(reason), device
    assert sorted(p.name for p in (out / alias).iterdir()) == ["device.json"]
    assert f"error: {alias}: {device['reason']}\n" in done.stderr


def test_report_merges_the_devices_with_the_failures_as_rows(ran, tmp_path):
    _, out = ran
    done = run_cli("device.report", "--devices", out, "--host", tmp_path, timeout=120)
    text = (out / "report.md").read_text()
    assert text == done.stdout
    assert "| variant | loopback |" in text and "| dropper | failed: copying the bundle:" in text
    assert (out / "report.png").stat().st_size > 0


def test_a_silent_host_times_out_as_a_row(sshd, artifacts, tmp_path):
    started = time.monotonic()
    done = bench_device(
        "slow",
        "--timeout",
        "3",
        "--ssh-config",
        sshd / "ssh_config",
        "--artifacts",
        artifacts,
        "--out",
        tmp_path,
    )
    assert done.returncode == 1 and time.monotonic() - started < 25
    assert rows(tmp_path)["slow"]["reason"] == "probing: no answer within 3 s"


@pytest.mark.parametrize(
    ("hosts", "line"),
    [
        ([], "error: HOSTS is empty"),
        (["pi@"], "error: HOSTS entry 'pi@' is not [user@]host"),
        (["-oProxyCommand=touch /tmp/x"], "error: HOSTS entry '-oProxyCommand=touch /tmp/x' is not"),
        (["pi@pi4", "me@pi4"], "error: HOSTS names pi4 more than once"),
    ],
)
def test_hosts_empty_or_malformed_is_a_usage_error(hosts, line, tmp_path):
    done = bench_device(*hosts, "--out", tmp_path / "out")
    assert done.returncode == 2 and done.stderr.startswith("usage: python -m device.ssh")
    assert done.stderr.splitlines()[-1].startswith(f"python -m device.ssh: {line}")
    assert not (tmp_path / "out").exists()
