"""Deployment bundle size with and without the AWS client (what COLLECTOR_MODE=cloudwatch adds).

    /path/to/venv/bin/python bench/bench_bundle.py            # every variant
    /path/to/venv/bin/python bench/bench_bundle.py --keep     # keep the install dirs

Each variant is installed the way Vercel's Python builder bundles a function's dependencies:
``pip install --target DIR`` for manylinux2014_x86_64, CPython 3.12, wheels only, no bytecode
(a .pyc compiled by this interpreter would not be the runtime's). The size is the sum of the
installed files' sizes (MB = 10^6 bytes), compared with the 200 MB this project allows itself
(Vercel's limit for an uncompressed Python function is 250 MB).

Variants: requirements.txt without its AWS line (the base), the base plus ``boto3`` (the
standard SDK), plus ``botocore`` alone (the SDK's core, what the collector imports), and plus
``httpx-auth`` (SigV4 signing over our own httpx client, the lightest candidate).

It also times a cold start of the chosen client in a fresh interpreter: ``import botocore``
and creating the EC2 and CloudWatch clients (loading their service models), median of 5.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIMIT_MB = 200.0
AWS_PACKAGES = ("boto3", "botocore")
VARIANTS: dict[str, tuple[str, ...]] = {
    "requirements.txt without AWS": (),
    "+ boto3 (standard SDK)": ("boto3",),
    "+ botocore (SDK core; chosen)": ("botocore",),
    "+ httpx-auth (SigV4 over httpx)": ("httpx-auth",),
}
_PIP_TARGET = ["--platform", "manylinux2014_x86_64", "--python-version", "3.12",
               "--implementation", "cp", "--only-binary=:all:", "--no-compile", "--quiet",
               "--disable-pip-version-check"]
_COLD_START = """
import time
t0 = time.perf_counter()
import botocore.session
from botocore.config import Config
session = botocore.session.Session()
options = dict(region_name="eu-west-1", aws_access_key_id="AKIDEXAMPLE",
               aws_secret_access_key="x", config=Config(connect_timeout=1, read_timeout=1))
session.create_client("ec2", **options)
session.create_client("cloudwatch", **options)
print(time.perf_counter() - t0)
"""


def base_requirements() -> list[str]:
    """requirements.txt's requirement lines, without the AWS client."""
    lines = []
    for raw in (REPO / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        name = line.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
        if line and name not in AWS_PACKAGES:
            lines.append(line)
    return lines


def install(target: Path, requirements: list[str]) -> None:
    command = [sys.executable, "-m", "pip", "install", "--target", str(target), *_PIP_TARGET,
               *requirements]
    subprocess.run(command, check=True)


def size_mb(root: Path) -> float:
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                total += os.path.getsize(path)
    return total / 1e6


def cold_start_ms(repeat: int = 5) -> float | None:
    """Median seconds → ms of importing botocore and creating both clients, or None."""
    runs = []
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", _COLD_START], capture_output=True,
                              text=True)
        if done.returncode != 0:
            return None
        runs.append(float(done.stdout.strip()) * 1000)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the install directories")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fleet-bundle-"))
    base = base_requirements()
    sizes: dict[str, float] = {}
    try:
        for label, extra in VARIANTS.items():
            began = time.perf_counter()
            target = root / str(len(sizes))
            install(target, [*base, *extra])
            sizes[label] = size_mb(target)
            print(f"  installed {label!r} in {time.perf_counter() - began:.0f} s",
                  file=sys.stderr)
    finally:
        if args.keep:
            print(f"install directories kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    base_mb = sizes["requirements.txt without AWS"]
    print(f"\n| bundle (manylinux2014_x86_64, CPython 3.12) | MB | vs base | "
          f"within {LIMIT_MB:.0f} MB |")
    print("|---|---:|---:|---|")
    for label, mb in sizes.items():
        print(f"| {label} | {mb:.1f} | {mb - base_mb:+.1f} | "
              f"{'yes' if mb <= LIMIT_MB else 'NO'} |")
    cold = cold_start_ms()
    if cold is not None:
        print(f"\ncold start: import botocore + EC2 and CloudWatch clients: {cold:.0f} ms "
              "(median of 5, this machine)")


if __name__ == "__main__":
    main()
