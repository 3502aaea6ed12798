r"""The image data scikit-learn ships inside its wheel (nothing is downloaded).

* :func:`digits`: the 1797 8x8 handwritten digits of ``sklearn.datasets.load_digits``
  (UCI optical recognition set), integer grey levels $0..16$ mapped to $[-1, 1]$ by
  $x = v/8 - 1$: shape ``(1797, 64)``.
* :func:`sample_images`: the two photographs of ``sklearn.datasets.load_sample_images``
  (``china.jpg``, ``flower.jpg``, $427 \times 640 \times 3$, 8-bit), mapped to $[-1, 1]$ by
  $x = v/127.5 - 1$.
* :func:`patches`: every ``size x size x 3`` window of an image at a given stride, flattened
  channels last (``x.reshape(size, size, 3)``), in raster order of the window's corner.

Quantisation: a grey level stands for an interval of width $\Delta$ ($\Delta = 1/8$ for the
digits, $2/255$ for the photographs); the data models add the variance $\Delta^2/12$ of a
uniform dequantisation to every eigenvalue, so that no direction is degenerate (a pixel that
is 0 in every digit would otherwise give a singular covariance and an infinite KL).
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["require_sklearn", "digits", "sample_images", "patches", "DIGITS_STEP", "PHOTO_STEP"]

DIGITS_STEP = 1.0 / 8.0
PHOTO_STEP = 2.0 / 255.0


def require_sklearn():
    """The ``sklearn.datasets`` module, or an ``ImportError`` naming the extra to install."""
    try:
        from sklearn import datasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the real-data models need scikit-learn (its wheel ships the digits and the two "
            "sample photographs): pip install 'diffusion-verify[data]'"
        ) from exc
    return datasets


def sklearn_version() -> str:
    import sklearn

    return str(sklearn.__version__)


def checksum(a: np.ndarray) -> str:
    """SHA-256 of the array's bytes (C order) and shape: the data set's fingerprint."""
    a = np.ascontiguousarray(a)
    return hashlib.sha256(repr((a.shape, a.dtype.str)).encode() + a.tobytes()).hexdigest()


def digits() -> np.ndarray:
    """The digits as ``(1797, 64)`` float64 in $[-1, 1]$."""
    raw = require_sklearn().load_digits().data
    return np.asarray(raw, dtype=np.float64) / 8.0 - 1.0


def sample_images() -> list[np.ndarray]:
    """The two photographs as ``(H, W, 3)`` uint8 arrays (raw grey levels)."""
    return [np.asarray(im, dtype=np.uint8) for im in require_sklearn().load_sample_images().images]


def patches(image: np.ndarray, size: int, stride: int) -> np.ndarray:
    """All ``size x size`` windows of ``image`` (``(H, W, C)``) with corners on the
    ``stride`` lattice, as ``(n, size*size*C)`` float64 in $[-1, 1]$ (raster order)."""
    im = np.asarray(image)
    if im.ndim != 3 or min(im.shape[:2]) < size:
        raise ValueError(f"image of shape {im.shape} has no {size}x{size} window")
    win = np.lib.stride_tricks.sliding_window_view(im, (size, size), axis=(0, 1))
    win = win[::stride, ::stride]  # (nh, nw, C, size, size)
    win = np.moveaxis(win, 2, -1)  # (nh, nw, size, size, C)
    out = win.reshape(-1, size * size * im.shape[2]).astype(np.float64)
    return out / 127.5 - 1.0
