"""Data generators returning images (N, 1, H, W) or signals (N, 1, 1, n) and their attributes."""
from .disks import disk_test_set, disks
from .ellipses import ellipses, image_statistics, render_ellipses
from .position import allowed_positions, dirac_signals, diracs, positioned_disks

__all__ = ["disks", "disk_test_set", "diracs", "dirac_signals", "allowed_positions", "positioned_disks",
           "ellipses", "render_ellipses", "image_statistics"]
