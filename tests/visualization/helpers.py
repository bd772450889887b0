"""Shared checks of the figure tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def read_png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG read back by PIL (which fails on a broken file); not blank."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        assert np.asarray(image).std() > 0
        return image.size
