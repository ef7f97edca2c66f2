"""Sources: image files, folders of frames, in-memory images."""

from .folders import IMAGE_SUFFIXES, list_images, natural_key
from .images import DEFAULT_MAX_PIXELS, ImageInput, LoadedImage, load_image, open_image_file, parse_alpha

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_SUFFIXES",
    "ImageInput",
    "LoadedImage",
    "list_images",
    "load_image",
    "natural_key",
    "open_image_file",
    "parse_alpha",
]
