"""A pass's QR code read from a photo or a camera frame (for browsers without a
BarcodeDetector, and over plain http on a LAN where the camera API is not available)."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import Any, TypeVar

import zxingcpp
from flask import request
from PIL import Image, UnidentifiedImageError

from parking.errors import Unprocessable
from parking.i18n import lazy_gettext as _l

#: An upload larger than this is refused (413) before it is read.
MAX_IMAGE_BYTES = 8 * 1024 * 1024
#: A phone photo is 12-50 megapixels; more than this is a decompression bomb, not a photo.
MAX_PIXELS = 60_000_000

F = TypeVar("F", bound=Callable[..., Any])


class NotAnImage(Unprocessable):
    reason, message = "not_an_image", _l("This file is not a picture.")


class ImageTooLarge(Unprocessable):
    reason, message = "image_too_large", _l("The picture is too large; take a smaller photo.")


class NoCodeFound(Unprocessable):
    reason, message = "no_code_found", _l("No QR code was found in the picture. Hold the pass flat and closer.")


def limit_body(max_bytes: int) -> Callable[[F], F]:
    """A view decorator (outside `@blp.arguments`): a body above `max_bytes` is a 413 before any
    of it is parsed."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            request.max_content_length = max_bytes
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # functools.wraps keeps the view signature; the checker sees the wrapper

    return decorator


def _open(data: bytes) -> Image.Image:
    if not data:
        raise NotAnImage()
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
        if image.width * image.height > MAX_PIXELS:
            raise ImageTooLarge()
        image.load()
    except ImageTooLarge:
        raise
    # Pillow's own bomb check (above MAX_PIXELS, so it only fires first where warnings are errors).
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise NotAnImage() from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or corrupt image data
        raise NotAnImage() from exc
    return image


def read_qr(data: bytes) -> str:
    """The text of the first QR code in the picture; `NotAnImage` or `NoCodeFound` otherwise."""
    image = _open(data)
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    for found in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)):
        if found.valid and found.text:
            return found.text
    raise NoCodeFound()
