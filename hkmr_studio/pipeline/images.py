"""Images in: any photo a user may drop, or a frame from video, webcam or clipboard, as one RGB uint8 array.

Every image comes out as (H, W, 3) uint8 RGB, upright (EXIF orientation applied), with pixel coordinates x right, y
down from the top-left corner. Transparency is composited on white; 16-bit and float pixels are scaled to 8 bit;
multi-frame files give their first frame. Full resolution unless the caller sets `max_pixels` (batches do, to bound
memory); detection downsizes separately.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Largest image accepted, in pixels (150 MP: a 15000 x 10000 scan). Pillow itself refuses files above
#: 2 * Image.MAX_IMAGE_PIXELS (~179 MP by default) as possible decompression bombs; ours fires first, with advice.
MAX_IMAGE_PIXELS = 150_000_000

_READABLE = "JPEG, PNG, BMP, TIFF, WebP, GIF"
_BAND_ROWS = 256  # rows converted at a time (`_pixels`)
_EXIF_IFD = 0x8769  # the EXIF sub-IFD, where camera settings live
_FOCAL_LENGTH_IN_35MM = 0xA405


class ImageLoadError(ValueError):
    """An image could not be used; the message says why and what the user can do."""


@dataclass(frozen=True)
class LoadedImage:
    """A photo or frame ready for the pipeline.

    rgb: (H, W, 3) uint8, upright. path: the file it came from (None for frames).
    notes: what was done to make it usable (e.g. "EXIF orientation 6 applied"), for the user to see.
    scale: pixels of `rgb` per pixel of the file: 1 unless a large photo was decoded reduced (`load_image`).
    """

    rgb: np.ndarray
    path: Path | None
    notes: tuple[str, ...] = ()
    scale: float = 1.0

    @property
    def original_size(self) -> tuple[int, int]:
        """(width, height) in pixels of the image the pipeline works in: the array's own size (the file's size
        times `scale`)."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


def load_image(path: str | Path, *, max_pixels: int | None = None) -> LoadedImage:
    """Read an image file into an upright RGB uint8 array; raise ImageLoadError with advice if that is impossible.

    The size is checked from the header before decoding. A photo of more than `max_pixels` is decoded reduced by 2,
    4 or 8 on each side (the smallest that fits, at most 8; JPEGs decode at the smaller size directly, never holding
    the full one), with a note and `LoadedImage.scale`.
    """
    path = Path(path)
    name = f"'{path.name}'"
    if not path.exists():
        raise ImageLoadError(f"Image not found: {path}. Check that the file still exists, or pick it again.")
    if not path.is_file():
        raise ImageLoadError(f"{name} is a folder, not an image file. Choose a photo inside it.")
    if path.stat().st_size == 0:
        raise ImageLoadError(
            f"{name} is empty (0 bytes): it was probably not copied or saved completely. Pick the original photo again."
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns from ~89 MP; MAX_IMAGE_PIXELS below is the limit we enforce.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                _check_pixel_count(image.size, name)
                notes: list[str] = []
                if getattr(image, "n_frames", 1) > 1:
                    notes.append(f"first of {image.n_frames} frames used")
                file_width = image.width
                image = _decoded(image, _reduction(image.size, max_pixels), notes)
                scale = image.width / file_width
                image = _upright(image, notes)
                rgb = _pil_to_rgb(image, notes)
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as exc:
        raise _too_large(name) from exc
    except UnidentifiedImageError as exc:
        hint = (
            " HEIC photos (iPhone) need exporting as JPEG first." if path.suffix.lower() in {".heic", ".heif"} else ""
        )
        raise ImageLoadError(
            f"{name} is not an image HKMR Studio can read (readable: {_READABLE}).{hint} "
            "Open it in an image viewer and save it as JPEG or PNG, then try again."
        ) from exc
    except PermissionError as exc:
        raise ImageLoadError(f"{name} cannot be read: permission denied. Copy it to a folder you own.") from exc
    except MemoryError as exc:
        raise ImageLoadError(f"{name} is too large to fit in memory. Save a smaller copy and try again.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageLoadError(
            f"{name} is damaged or incomplete (truncated) and cannot be decoded ({exc}). "
            "Copy or download it again, or re-save it from the program that made it."
        ) from exc
    return LoadedImage(rgb=rgb, path=path, notes=tuple(notes), scale=scale)


def _reduction(size: tuple[int, int], max_pixels: int | None) -> int:
    """The side reduction (1, 2, 4 or 8) that brings `size` to at most `max_pixels`, or 8."""
    factor = 1
    while max_pixels is not None and factor < 8 and size[0] * size[1] > max_pixels * factor**2:
        factor *= 2
    return factor


def _decoded(image: Image.Image, factor: int, notes: list[str]) -> Image.Image:
    """`image` decoded, `factor` times smaller on each side (JPEG's decoder scales while decoding; other formats are
    reduced after it)."""
    if factor == 1:
        image.load()
        return image
    width, height = image.size
    target = (-(-width // factor), -(-height // factor))
    image.draft(None, target)  # JPEG only; a no-op elsewhere
    image.load()
    if image.size != target:
        try:
            image = image.reduce(factor)
        except ValueError:  # modes reduce() lacks (palette, 1-bit)
            image = image.resize(target, Image.Resampling.NEAREST)
    notes.append(f"decoded at 1/{factor} size ({width} x {height} -> {image.width} x {image.height}) to save memory")
    return image


def exif_focal_35mm(path: str | Path) -> float | None:
    """The 35 mm-equivalent focal length in millimetres that the photo's EXIF records (tag FocalLengthIn35mmFilm),
    or None when the file has none, records 0 (unknown) or cannot be read. Reads the header only."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                value = image.getexif().get_ifd(_EXIF_IFD).get(_FOCAL_LENGTH_IN_35MM)
        focal = float(value) if value is not None else 0.0
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, Image.DecompressionBombError):
        return None
    return focal if 0.0 < focal < float("inf") else None


def image_from_array(array: np.ndarray, *, bgr: bool = False) -> LoadedImage:
    """Wrap a frame (video, webcam, clipboard) as a LoadedImage.

    array: (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); uint8, uint16 or float in [0, 1] (other ranges are rescaled).
    bgr: True for OpenCV frames (BGR / BGRA channel order). The input is never modified.
    """
    values = np.asarray(array)
    if values.ndim == 2:
        values = values[..., None]
    if values.ndim != 3 or values.shape[2] not in (1, 3, 4):
        raise ImageLoadError(
            f"expected an image array of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {values.shape}"
        )
    if bgr and values.shape[2] == 3 and values.dtype == np.uint8:
        values = cv2.cvtColor(values, cv2.COLOR_BGR2RGB)  # a video frame's common case: ~50x faster than indexing
    elif bgr and values.shape[2] >= 3:
        values = values[..., [2, 1, 0, 3][: values.shape[2]]]
    notes: list[str] = []
    return LoadedImage(rgb=_array_to_rgb(values, notes), path=None, notes=tuple(notes))


def _check_pixel_count(size: tuple[int, int], name: str) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageLoadError(f"{name} has no pixels ({width} x {height}). Export the image again.")
    if width * height > MAX_IMAGE_PIXELS:
        raise _too_large(name, width, height)


def _too_large(name: str, width: int | None = None, height: int | None = None) -> ImageLoadError:
    size = f" ({width} x {height} = {width * height / 1e6:.0f} MP)" if width and height else ""
    return ImageLoadError(
        f"{name} is too large{size}: images up to {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels are accepted. "
        "Save a smaller copy (a person needs only ~2000 px) and try again. "
        "A file that claims absurd dimensions may be corrupt or malicious."
    )


def _upright(image: Image.Image, notes: list[str]) -> Image.Image:
    """Apply the EXIF orientation tag (phones store pixels sideways and set the tag)."""
    try:
        orientation = image.getexif().get(0x0112, 1)
        if orientation not in (1, None):
            image = ImageOps.exif_transpose(image)
            notes.append(f"EXIF orientation {orientation} applied")
    except (OSError, SyntaxError, ValueError, KeyError, TypeError):
        notes.append("EXIF orientation unreadable: image used as stored")
    return image


def _pil_to_rgb(image: Image.Image, notes: list[str]) -> np.ndarray:
    """Any Pillow mode -> (H, W, 3) uint8 RGB."""
    if image.mode.startswith("I") or image.mode == "F":  # 16/32-bit integer or float grayscale
        return _array_to_rgb(np.asarray(image)[..., None], notes)
    bands = image.getbands()
    has_alpha = "A" in bands or "a" in bands or "transparency" in image.info
    if image.mode == "CMYK":
        notes.append("converted from CMYK")
    return _array_to_rgb(_pixels(image, "RGBA" if has_alpha else "RGB"), notes)


def _pixels(image: Image.Image, mode: str) -> np.ndarray:
    """`image` in the 8-bit `mode` ("RGB" or "RGBA") as an (H, W, C) uint8 array, converted a band of rows at a time:
    converting a whole photo at once holds two more copies of it."""
    out = np.empty((image.height, image.width, len(mode)), np.uint8)
    for top in range(0, image.height, _BAND_ROWS):
        band = image.crop((0, top, image.width, min(image.height, top + _BAND_ROWS)))
        out[top : top + band.height] = np.asarray(band if band.mode == mode else band.convert(mode))
    return out


def _array_to_rgb(values: np.ndarray, notes: list[str]) -> np.ndarray:
    """(H, W, C) with C in {1, 3, 4}, any supported dtype -> (H, W, 3) uint8 RGB (alpha composited on white)."""
    if values.shape[0] == 0 or values.shape[1] == 0:
        raise ImageLoadError(f"the image has no pixels (shape {values.shape})")
    values = _to_uint8(values, notes)
    if values.shape[2] == 1:
        values = np.repeat(values, 3, axis=2)
    elif values.shape[2] == 4:
        alpha = values[..., 3:].astype(np.uint16)
        if (alpha < 255).any():
            notes.append("transparent areas filled with white")
        values = ((values[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    return np.ascontiguousarray(values)


def _to_uint8(values: np.ndarray, notes: list[str]) -> np.ndarray:
    """uint8 as is; uint16 / 257; float in [0, 1] * 255; anything else rescaled from its [min, max] to [0, 255]."""
    if values.dtype == np.uint8:
        return values
    if values.dtype == np.bool_:
        return values.astype(np.uint8) * 255
    if values.dtype == np.uint16:
        notes.append("16-bit image scaled to 8 bit")
        return ((values.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if values.dtype.kind not in "iuf":
        raise ImageLoadError(f"unsupported pixel type {values.dtype}: expected uint8, uint16 or float")
    floats = values.astype(np.float32)
    if not np.isfinite(floats).all():
        raise ImageLoadError("the image contains NaN or infinite pixel values")
    low, high = float(floats.min()), float(floats.max())
    if values.dtype.kind == "f" and low >= 0.0 and high <= 1.0:
        return np.round(floats * 255.0).astype(np.uint8)
    notes.append(f"pixel values {low:g} to {high:g} rescaled to 0-255")
    return np.round((floats - low) * (255.0 / max(high - low, 1e-12))).astype(np.uint8)
