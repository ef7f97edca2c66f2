"""``imgdelta serve``: a small read-only web app that watches a filter or capture run.

The page shows the latest frame, the change score over the run (redrawn every few
seconds), the kept frames, and a kept frame's heatmap against the frame kept before when
it is clicked. It is an ASGI app (Starlette), served by uvicorn: both come with the
``serve`` extra (``pip install 'imgdelta[serve]'``).

Only files the run's manifest names are served, looked up by name in the manifest rather
than joined to a path, so no request can reach anything else. Nothing is ever written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import InputError, OptionError

__all__ = ["LOOPBACK", "create_app", "serve"]

LOOPBACK = "127.0.0.1"
#: Points of the score timeline sent to the page at most.
TIMELINE_POINTS = 1500


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise OptionError(f"imgdelta serve needs {module.split('.')[0]}: pip install 'imgdelta[serve]'") from None


def create_app(run_dir: str | Path) -> Any:
    """The ASGI app for the run in ``run_dir`` (checked now: a missing run fails here)."""
    _require("starlette")
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    from .store import Manifest

    folder = Path(run_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder (give the output folder of imgdelta filter or capture)")
    with Manifest.open(folder, create=False, read_only=True):
        pass  # a folder without a manifest is refused before anything is served

    def rows() -> list:
        with Manifest.open(folder, create=False, read_only=True) as manifest:
            return list(manifest.rows())

    def kept_files() -> list[str]:
        with Manifest.open(folder, create=False, read_only=True) as manifest:
            return [record.kept_name for record in manifest.kept() if record.kept_name]

    # plain functions: Starlette runs them in its thread pool, so reading the manifest or
    # drawing a heatmap never holds up other requests
    def page(_request: Any) -> HTMLResponse:
        return HTMLResponse(_PAGE)

    def summary(_request: Any) -> JSONResponse:
        with Manifest.open(folder, create=False, read_only=True) as manifest:
            counts = manifest.counts()
            run = manifest.get_setting("run", {}) or {}
            kept = [
                {"name": r.kept_name, "frame": r.idx, "reason": r.reason} for r in manifest.kept() if r.kept_name
            ]
        return JSONResponse({"source": run.get("source"), "counts": counts, "kept": kept})

    def timeline(_request: Any) -> JSONResponse:
        import numpy as np

        from .render.report import peaks

        records = rows()
        idx = np.array([r.idx for r in records], dtype=np.float64)
        score = np.array([r.score if r.score is not None else np.nan for r in records], dtype=np.float64)
        finite = np.isfinite(score)
        xs, ys = peaks(idx[finite], score[finite], TIMELINE_POINTS)
        thresholds = [r.threshold for r in records if r.threshold is not None]
        return JSONResponse(
            {
                "points": [[float(x), float(y)] for x, y in zip(xs, ys)],
                "threshold": float(np.median(thresholds)) if thresholds else None,
                "kept": [r.idx for r in records if r.decision == "keep"],
            }
        )

    def frame(request: Any) -> Response:
        name = request.path_params["name"]
        files = kept_files()
        if name == "latest" and files:
            name = files[-1]
        if name not in files:  # only what the manifest lists, never a path of the caller's
            return Response("not a kept frame of this run", status_code=404, media_type="text/plain")
        data = (folder / name).read_bytes()
        return Response(data, media_type=_media_type(name))

    def heatmap(request: Any) -> Response:
        from .pipeline.difference import diff
        from .render.diff import render_diff
        from .store import encode_image

        name = request.path_params["name"]
        files = kept_files()
        if name not in files:
            return Response("not a kept frame of this run", status_code=404, media_type="text/plain")
        position = files.index(name)
        if position == 0:
            return Response("the first kept frame has no heatmap", status_code=404, media_type="text/plain")
        picture = render_diff(diff(folder / files[position - 1], folder / name, analysis_size=480), "heatmap")
        return Response(encode_image(picture, ".png"), media_type="image/png")

    def no_icon(_request: Any) -> Response:
        return Response(status_code=204)  # browsers ask; an empty answer keeps their console clean

    routes = [
        Route("/", page),
        Route("/favicon.ico", no_icon),
        Route("/api/summary", summary),
        Route("/api/timeline", timeline),
        Route("/frames/{name}", frame),
        Route("/heatmaps/{name}", heatmap),
    ]
    return Starlette(routes=routes)


def _media_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return {".png": "image/png", ".webp": "image/webp", ".gif": "image/gif", ".bmp": "image/bmp"}.get(suffix, "image/jpeg")


def serve(app: Any, *, host: str = LOOPBACK, port: int = 8765) -> None:
    """Serve an app from :func:`create_app` until interrupted (blocking)."""
    uvicorn = _require("uvicorn")
    uvicorn.run(app, host=host, port=port, log_level="warning")


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>imgdelta run</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
#latest { max-width: 480px; display: block; }
svg .score { fill: none; stroke: #3465a4; } svg .threshold { stroke: #cc0000; stroke-dasharray: 6 4; }
svg .kept { stroke: #4e9a06; stroke-opacity: 0.5; }
#gallery { display: flex; flex-wrap: wrap; gap: 0.8em; }
#gallery figure { width: 220px; margin: 0; cursor: pointer; }
#gallery img { width: 100%; } #gallery figcaption { font-size: 0.8em; word-break: break-all; }
#heat { max-width: 640px; display: none; }
</style></head><body>
<h1 id="title">imgdelta run</h1>
<p id="counts"></p>
<h2>Latest kept frame</h2><img id="latest" alt="latest kept frame">
<h2>Change score</h2>
<svg id="timeline" viewBox="0 0 960 220" width="100%"></svg>
<h2>Kept frames</h2><p>Click one to see its heatmap against the frame kept before.</p>
<img id="heat" alt="heatmap">
<div id="gallery"></div>
<script>
const NS = 'http://www.w3.org/2000/svg';
function line(svg, cls, x1, y1, x2, y2) {
  const l = document.createElementNS(NS, 'line');
  l.setAttribute('class', cls); l.setAttribute('x1', x1); l.setAttribute('y1', y1);
  l.setAttribute('x2', x2); l.setAttribute('y2', y2); svg.appendChild(l);
}
async function refresh() {
  const summary = await (await fetch('api/summary')).json();
  document.getElementById('title').textContent = 'imgdelta run: ' + (summary.source || '');
  const c = summary.counts;
  document.getElementById('counts').textContent =
    c.total + ' frames, ' + c.kept + ' kept, ' + c.skipped + ' skipped, ' + c.errors + ' unreadable';
  if (summary.kept.length) document.getElementById('latest').src = 'frames/latest?n=' + c.total;
  const gallery = document.getElementById('gallery');
  if (gallery.childElementCount !== summary.kept.length) {
    gallery.replaceChildren();
    for (const k of summary.kept) {
      const figure = document.createElement('figure');
      const img = document.createElement('img');
      img.src = 'frames/' + encodeURIComponent(k.name); img.alt = k.name;
      const caption = document.createElement('figcaption');
      caption.textContent = k.name + ': ' + k.reason;
      figure.append(img, caption);
      figure.addEventListener('click', () => {
        const heat = document.getElementById('heat');
        heat.src = 'heatmaps/' + encodeURIComponent(k.name); heat.style.display = 'block';
      });
      gallery.appendChild(figure);
    }
  }
  const t = await (await fetch('api/timeline')).json();
  const svg = document.getElementById('timeline');
  svg.replaceChildren();
  if (!t.points.length) return;
  const x0 = t.points[0][0], x1 = Math.max(t.points[t.points.length - 1][0], x0 + 1);
  const top = Math.max(...t.points.map(p => p[1]), (t.threshold || 0) * 1.5, 1e-9);
  const X = v => 30 + (v - x0) / (x1 - x0) * 900, Y = v => 200 - Math.min(v, top) / top * 180;
  const poly = document.createElementNS(NS, 'polyline');
  poly.setAttribute('class', 'score');
  poly.setAttribute('points', t.points.map(p => X(p[0]).toFixed(1) + ',' + Y(p[1]).toFixed(1)).join(' '));
  svg.appendChild(poly);
  if (t.threshold !== null) line(svg, 'threshold', 30, Y(t.threshold), 930, Y(t.threshold));
  for (const k of t.kept) line(svg, 'kept', X(k), 20, X(k), 200);
}
refresh(); setInterval(refresh, 3000);
</script></body></html>
"""

