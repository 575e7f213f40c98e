"""The training step keeps freed memory in the process: no page faults from one step to the next."""
import os
import platform
import subprocess
import sys
import textwrap

import pytest

from npae.allocator import keep_freed_memory

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt's thresholds are glibc's")

STEPS = textwrap.dedent("""
    import resource, numpy as np, npae
    model = npae.disk_autoencoder("talk", channels=16, rng=0)
    optimizer = npae.Adam(model, lr=1e-3)
    x = npae.data.disks(16, 64, rng=np.random.default_rng(0))[0]
    for _ in range(5):
        npae.training_step(model, optimizer, x)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        npae.training_step(model, optimizer, x)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
""")


def faults_per_step(**env) -> float:
    out = subprocess.run([sys.executable, "-c", STEPS], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}).stdout
    return float(out)


@glibc_only
def test_keep_freed_memory_takes_and_is_idempotent():
    assert keep_freed_memory() and keep_freed_memory()


@glibc_only
def test_training_steps_do_not_page_fault_unless_told_not_to_keep_memory():
    """Without the thresholds this step faults on about 410 pages per step (the project's machine)."""
    assert faults_per_step() < 20
    assert faults_per_step(NPAE_KEEP_FREED_MEMORY="0") > 100
