"""HTTP on the streaming port (websockets parses the requests; nothing here parses HTTP).

| path | answer |
| --- | --- |
| `GET /healthz` | `ok` (200), or 503 `unhealthy` and one line per problem (a supervised task down or restarted in the last 5 minutes) |
| `GET /metrics` | Prometheus text format |
| `GET /assets/<sha256>` | the asset's bytes; `ETag`, `Cache-Control: immutable`; `If-None-Match` → 304 |
| `GET /api/mine` | the mine's summary |
| `GET /api/plan` | the mine in plan, for the 2D plan view and the overview's lines: roadways (id, name, type, ventilation, centerline), workings (faces and headings: where they stand now, advance), areas (docs/viewer.md) |
| `GET /api/quantities` | every quantity by its scene key: Chinese and English names, unit, kind, a switch's two states, the sensor type codes that give it (twin/sensor_codes.toml) |
| `GET /api/nodes/<id>` | one node: name, parent, children, tags, transform, world position, visual, properties with units, mesh |
| `GET /api/history/<series>?from=&to=&max_points=` | samples or min/max/mean buckets (docs/bindings.md) |
| `GET /api/alarms` | the alarm list (active or unacknowledged) |
| `GET /api/alarms/history?since=` | alarm records since a time |
| `GET /api/alarms/<id>/snapshot` | the alarm's picture (PNG), once rendered |
| `GET /api/recordings` | the recorded segments (name, size) |
| `GET /api/geology` | the geological model's accuracy report and its latest exposure log (docs/geology.md) |
| `GET /api/risk` | risk pre-control: each area's level (blue/yellow/orange/red) with its reasons, the forecasts ahead of every face and heading, the warning lines, the register, recent level changes (docs/risk.md) |
| `GET /api/dangers[/…]` | hidden dangers: the list with filters, one item with its steps, an attachment, CSV/XLSX export (docs/dangers.md) |
| `GET /api/uplink` | the provincial uplink: per destination backlog, oldest undelivered age, failures (docs/uplink.md) |
| `GET /`, `GET /<file>` | the built browser viewer (``viewer_dir``), or a note that it is not built |

Everything is read-only JSON (UTF-8). A request for anything else is a 404 with a JSON reason;
a bad parameter a 400. The providers are plain callables handed in by the composition root,
so this module knows nothing of how alarms or history are stored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from scene import NodeNotFoundError, Scene

__all__ = ["HttpApi"]

log = logging.getLogger("minetwin.http")

_NO_VIEWER = ("<!doctype html><meta charset=utf-8><title>MineTwin</title>"
              "<p>MineTwin is running. The browser viewer is not built here yet; the streaming "
              "protocol (docs/protocol.md) and the JSON API under /api/ are available.").encode()
_TYPES_BY_SUFFIX = {".html": "text/html; charset=utf-8", ".js": "text/javascript",
                    ".mjs": "text/javascript", ".css": "text/css", ".json": "application/json",
                    ".wasm": "application/wasm", ".png": "image/png", ".svg": "image/svg+xml",
                    ".glb": "model/gltf-binary", ".woff2": "font/woff2"}
_REASONS = {200: "OK", 304: "Not Modified", 400: "Bad Request", 404: "Not Found",
            405: "Method Not Allowed", 500: "Internal Server Error",
            503: "Service Unavailable"}


@dataclass
class HttpApi:
    scene: Scene
    asset: Callable[[str], bytes] | None = None            # asset id -> bytes (KeyError)
    mine: Callable[[], dict] | None = None
    plan: Callable[[], dict] | None = None
    quantities: Callable[[], dict] | None = None
    history: Callable[[str, int, int, int], list] | None = None
    alarms: Callable[[], list] | None = None
    alarm_history: Callable[[int], list] | None = None
    metrics: Callable[[], bytes] | None = None
    recordings: Callable[[], list] | None = None
    geology: Callable[[], dict] | None = None
    risk: Callable[[], dict] | None = None
    uplink: Callable[[], dict] | None = None
    #: hidden dangers: (path under /api/dangers, query) -> (body, content type, headers);
    #: KeyError is a 404, ValueError a 400 (the provider knows the paths, not this module)
    dangers: Callable[[str, dict], tuple[bytes, str, dict]] | None = None
    snapshot: Callable[[int], bytes] | None = None         # alarm id -> PNG (KeyError)
    health: Callable[[], list[str]] | None = None           # problems now; [] is healthy
    viewer_dir: str | None = None                          # the built viewer's files

    def __call__(self, connection: Any, request: Request) -> Response | None:
        """websockets' process_request: WebSocket upgrades pass through (None)."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        url = urlsplit(request.path)
        path = unquote(url.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            return self._route(path, query, request.headers)
        except _HttpError as exc:
            return _json(exc.status, {"error": exc.message})
        except Exception as exc:          # noqa: BLE001 — our bug: say so in JSON, keep serving
            log.exception("HTTP %s failed", path)
            return _json(500, {"error": f"internal error ({type(exc).__name__})"})

    def _route(self, path: str, q: dict[str, str], headers: Headers) -> Response:
        if path == "/healthz":
            problems = self.health() if self.health else []
            if problems:
                body = "unhealthy\n" + "".join(f"{p}\n" for p in problems)
                return _response(503, body.encode(), "text/plain; charset=utf-8")
            return _response(200, b"ok\n", "text/plain; charset=utf-8")
        if path == "/metrics" and self.metrics:
            return _response(200, self.metrics(), "text/plain; version=0.0.4; charset=utf-8")
        if path.startswith("/assets/") and self.asset:
            asset_id = path[len("/assets/"):]
            etag = f'"{asset_id}"'
            if headers.get("If-None-Match") == etag:
                return _response(304, b"", None, {"ETag": etag})
            try:
                data = self.asset(asset_id)
            except (KeyError, OSError):
                raise _HttpError(404, f"no asset {asset_id}") from None
            return _response(200, data, "model/gltf-binary", {
                "ETag": etag, "Cache-Control": "public, max-age=31536000, immutable"})
        if path == "/api/mine" and self.mine:
            return _json(200, self.mine())
        if path == "/api/plan" and self.plan:
            return _json(200, self.plan())
        if path == "/api/quantities" and self.quantities:
            return _json(200, self.quantities())
        if path.startswith("/api/nodes/"):
            return _json(200, self._node(path[len("/api/nodes/"):]))
        if path.startswith("/api/history/") and self.history:
            series = path[len("/api/history/"):]
            t0, t1 = _int(q, "from", 0), _int(q, "to", _MAX_MS)
            n = _int(q, "max_points", 500, low=1, high=100_000)
            if t1 < t0:
                raise _HttpError(400, "from must not be after to")
            rows = self.history(series, t0, t1, n)
            return _json(200, {"series": series, "from": t0, "to": t1,
                               "points": [_plain(r) for r in rows]})
        if path == "/api/alarms" and self.alarms:
            return _json(200, {"alarms": [_plain(a) for a in self.alarms()]})
        if path == "/api/alarms/history" and self.alarm_history:
            return _json(200, {"alarms": [_plain(a) for a in
                                          self.alarm_history(_int(q, "since", 0))]})
        if path.startswith("/api/alarms/") and path.endswith("/snapshot") and self.snapshot:
            part = path.split("/")[3]
            if not (part.isascii() and part.isdigit() and len(part) <= 18):
                raise _HttpError(404, f"no snapshot at {path}")
            try:
                data = self.snapshot(int(part))
            except (KeyError, ValueError, OSError):
                raise _HttpError(404, f"no snapshot at {path}") from None
            return _response(200, data, "image/png", {"Cache-Control": "max-age=86400"})
        if path == "/api/geology" and self.geology:
            return _json(200, _plain(self.geology()))
        if path == "/api/risk" and self.risk:
            return _json(200, self.risk())
        if (path == "/api/dangers" or path.startswith("/api/dangers/")) and self.dangers:
            try:
                body, kind, extra = self.dangers(path[len("/api/dangers"):], q)
            except KeyError as exc:
                raise _HttpError(404, f"nothing at {path}" if not exc.args
                                 else str(exc.args[0])) from None
            except ValueError as exc:
                raise _HttpError(400, str(exc)) from None
            return _response(200, body, kind, extra)
        if path == "/api/uplink":
            return _json(200, self.uplink() if self.uplink else {"enabled": False})
        if path == "/api/recordings" and self.recordings:
            return _json(200, {"recordings": self.recordings()})
        if not path.startswith("/api/"):
            return self._static(path)
        raise _HttpError(404, f"nothing at {path}")

    def _static(self, path: str) -> Response:
        """The viewer's files: ``/`` is its index.html; nothing outside its folder."""
        from pathlib import Path
        if not self.viewer_dir or not Path(self.viewer_dir, "index.html").exists():
            if path == "/":
                return _response(200, _NO_VIEWER, "text/html; charset=utf-8")
            raise _HttpError(404, f"nothing at {path}")
        root = Path(self.viewer_dir).resolve()
        target = (root / (path.lstrip("/") or "index.html")).resolve()
        if root not in target.parents and target != root / "index.html" or not target.is_file():
            raise _HttpError(404, f"nothing at {path}")
        kind = _TYPES_BY_SUFFIX.get(target.suffix, "application/octet-stream")
        return _response(200, target.read_bytes(), kind, {"Cache-Control": "no-cache"})

    def _node(self, node_id: str) -> dict:
        s = self.scene
        try:
            n = s.node(node_id)
        except NodeNotFoundError:
            raise _HttpError(404, f"no node {node_id!r}") from None
        mesh = n.mesh
        return {
            "id": node_id, "name": n.name, "parent": n.parent, "children": list(n.children),
            "tags": sorted(n.tags), "translation": n.translation.tolist(),
            "rotation": n.rotation.tolist(), "scale": n.scale.tolist(),
            "world_position": n.world_position.tolist(), "visual": asdict(n.visual),
            "properties": {k: {"value": v.value, "unit": v.unit}
                           for k, v in n.properties.items()},
            "mesh": None if mesh is None else {"asset": mesh.asset, "lods": list(mesh.lods),
                                               "bounds": list(mesh.bounds)},
            "revision": s.revision,
        }


class _HttpError(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


#: Times are UTC epoch milliseconds: 0 … 2**62 (SQLite integers are 64-bit).
_MAX_MS = 2**62


def _int(q: dict[str, str], key: str, default: int, *, low: int = 0,
         high: int = _MAX_MS) -> int:
    """An integer parameter in [low, high], or a 400 naming it."""
    if key not in q:
        return default
    text = q[key].strip()
    if not (text.isascii() and text.lstrip("-").isdigit() and len(text) <= 20):
        raise _HttpError(400, f"{key} must be an integer")
    v = int(text)
    if not low <= v <= high:
        raise _HttpError(400, f"{key} must be between {low} and {high}")
    return v


def _plain(x: Any) -> Any:
    return asdict(x) if is_dataclass(x) else x


def _response(status: int, body: bytes, content_type: str | None,
              extra: dict[str, str] | None = None) -> Response:
    headers = Headers()
    if content_type:
        headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    for k, v in (extra or {}).items():
        headers[k] = v
    return Response(status, _REASONS.get(status, "OK"), headers, body)


def _json(status: int, obj: Any) -> Response:
    return _response(status, json.dumps(obj, ensure_ascii=False).encode(),
                     "application/json; charset=utf-8")
