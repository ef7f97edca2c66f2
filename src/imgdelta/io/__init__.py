"""Sources: image files, in-memory images (and, later, folders, video and cameras)."""

from .images import DEFAULT_MAX_PIXELS, ImageInput, LoadedImage, load_image, open_image_file, parse_alpha

__all__ = ["DEFAULT_MAX_PIXELS", "ImageInput", "LoadedImage", "load_image", "open_image_file", "parse_alpha"]
