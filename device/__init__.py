"""Devices: somewhere a bundle runs. This host, an emulated board (an arm64 root under QEMU), or a
real board over SSH; one way to reach each, the same steps on all of them.

    make bundle TARGET=linux-aarch64 ENGINE=litert    # device/bundle.py: the offline archive
    make device-check                                  # device/emulated.py: it on an emulated Pi 4
    make bench-device HOSTS="pi@pi4 pi@pi5"            # device/ssh.py: it on real boards
    make report                                        # device/report.py: every device side by side

    make bundle-sizes                                  # device/sizes.py: what each archive costs

Layout: `wheels.py` knows targets, engines and their wheels, `bundle.py` writes the archive (with
`files/`: install.sh, bin/fmnist-edge, BUNDLE.md), `board.py` drives a device (probe, copy,
install, run, fetch) through its one `run` call, `emulated.py`, `ssh.py` and `local.py` are the
ways in, `report.py` merges what came back. Host side only: nothing here ships in a bundle.
"""
