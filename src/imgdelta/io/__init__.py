"""Sources: image files, folders of frames, in-memory images, videos, cameras and streams."""

from .folders import IMAGE_SUFFIXES, list_images, natural_key
from .images import DEFAULT_MAX_PIXELS, ImageInput, LoadedImage, analysis_shape, load_image, open_image_file, parse_alpha
from .sources import DEFAULT_ANALYSIS_SIZE, SOURCE_KINDS, Frame, FrameSource, open_source

__all__ = [
    "DEFAULT_ANALYSIS_SIZE",
    "DEFAULT_MAX_PIXELS",
    "Frame",
    "FrameSource",
    "IMAGE_SUFFIXES",
    "ImageInput",
    "LoadedImage",
    "analysis_shape",
    "SOURCE_KINDS",
    "list_images",
    "load_image",
    "natural_key",
    "open_image_file",
    "open_source",
    "parse_alpha",
]
