"""Data generators returning images (N, 1, H, W) and their attributes."""
from .disks import disk_test_set, disks

__all__ = ["disks", "disk_test_set"]
