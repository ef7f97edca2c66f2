"""The public API and the layering of the package."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import numpy as np
import pytest

import imgdelta

PACKAGE = Path(imgdelta.__file__).parent

#: Lower layers first; a module may import only from its own layer or those before it.
LAYERS = ["errors", "io", "preprocess", "features", "metrics", "decide", "store", "pipeline", "dedupe", "render", "web", "examples", "cli"]


def test_all_is_sorted_and_complete():
    assert imgdelta.__all__ == sorted(imgdelta.__all__)
    for name in imgdelta.__all__:
        assert hasattr(imgdelta, name), name


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "imgdelta" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def _imports(path: Path, package: str) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
                found.add(name)
                if not node.module:
                    found.update(f"{name}.{alias.name}" for alias in node.names)
            elif node.module:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_lower_layers_never_import_higher_ones():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        own = _layer_of(module.removesuffix(".__init__"))
        if own is None:
            continue
        for imported in _imports(path, package.removesuffix(".__init__")):
            other = _layer_of(imported)
            if other and LAYERS.index(other) > LAYERS.index(own):
                problems.append(f"{module} imports {imported}")
    assert not problems, problems


def test_metrics_take_no_paths():
    for info in pkgutil.iter_modules(imgdelta.metrics.__path__):
        source = (PACKAGE / "metrics" / f"{info.name}.py").read_text()
        assert "load_image" not in source and "open(" not in source.replace("Image.open(", ""), info.name


def test_importing_the_package_stays_light():
    import subprocess
    import sys

    code = "import sys, imgdelta; print(','.join(m for m in ('scipy', 'cv2', 'skimage', 'pywt') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_public_names_load_on_first_use_and_unknown_ones_fail():
    import subprocess
    import sys

    code = (
        "import sys, imgdelta; assert 'imgdelta.decide.change' not in sys.modules; "
        "imgdelta.ChangeDetector; assert 'imgdelta.decide.change' in sys.modules\n"
        "try:\n    imgdelta.no_such_name\nexcept AttributeError as exc:\n    print(exc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "module 'imgdelta' has no attribute 'no_such_name'"


def test_no_public_name_is_shadowed_by_a_module_of_the_same_name():
    # importing a submodule binds it on its package: a module named like an exported
    # function would replace the function for everyone who imported the module first
    import subprocess
    import sys

    code = (
        "import importlib, pkgutil, imgdelta, imgdelta.pipeline as p\n"
        "for info in pkgutil.walk_packages(imgdelta.__path__, 'imgdelta.'):\n"
        "    if info.name.split('.')[1] not in ('web', 'cli', '__main__'):\n"
        "        importlib.import_module(info.name)\n"
        "print(sorted(n for n in imgdelta.__all__ + [f'pipeline.{m}' for m in p.__all__]\n"
        "      if type(eval('imgdelta.' + n)).__name__ == 'module'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_compare_takes_metric_names_as_the_command_line_does():
    a = np.zeros((8, 8), np.uint8)
    b = a.copy()
    b[2:4, 2:4] = 200
    assert list(imgdelta.compare(a, b, metrics="ssim").metrics) == ["ssim"]
    assert list(imgdelta.compare(a, b, metrics="mae, psnr,mae").metrics) == ["mae", "psnr"]
    assert list(imgdelta.compare(a, b, metrics=["rmse", "max_abs,mae"]).metrics) == ["rmse", "max_abs", "mae"]
    every = imgdelta.compare(a, b, metrics="all").metrics
    assert set(imgdelta.available_metrics()) <= set(every)
    with pytest.raises(imgdelta.OptionError, match="no metric chosen"):
        imgdelta.compare(a, b, metrics=" , ")
