"""glTF 2.0 import and export of scene trees.

Import (``import_gltf``) reads a ``.gltf`` (with external or embedded buffers and images) or a
``.glb``: the node hierarchy becomes scene nodes with their transforms, each glTF mesh becomes
a self-contained GLB in the asset store (its accessors, buffer views, materials, textures and
images copied with it) referenced by a ``MeshRef``, and node ``extras`` become properties.

Export (``export_glb``) writes a scene or a subtree to one GLB: nodes with their transforms,
meshes copied back out of the asset store, and MineTwin's own state (id, tags, typed
properties, visual state) under ``extras.minetwin`` so an import restores it.

The y-up/z-up change happens in ``_axes`` only, on top-level nodes.

pygltflib reads and writes the containers; the copying of a mesh with its dependencies works
on the glTF JSON itself, so materials, texture transforms and extensions travel untouched.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

import numpy as np
import pygltflib

from . import _axes, _math
from .changes import MeshRef
from .errors import GltfError
from .graph import Scene

__all__ = ["MeshStore", "import_gltf", "export_glb", "mesh_glb_bounds"]

_EXTRAS_KEY = "minetwin"
_ARRAY_BUFFER = 34962
_ELEMENT_ARRAY_BUFFER = 34963
_GENERATOR = "MineTwin"


class MeshStore(Protocol):
    """What import/export need of an asset store (``assets.AssetStore`` is one)."""

    def put_glb(self, data: bytes, meta: dict[str, Any] | None = None) -> str: ...

    def get(self, asset_id: str) -> bytes: ...


# ---------------------------------------------------------------------- reading

class _Doc:
    """A loaded glTF: its JSON as a dict and a way to get any buffer's bytes."""

    def __init__(self, source: str | Path | bytes, name: str = "<bytes>"):
        self.base = None
        try:
            if isinstance(source, (bytes, bytearray)):
                g = pygltflib.GLTF2.load_from_bytes(bytes(source))
                self.name = name
            else:
                path = Path(source)
                self.name = str(path)
                self.base = path.parent
                if path.suffix.lower() not in (".gltf", ".glb"):
                    raise GltfError(f"{path}: not a .gltf or .glb file")
                g = pygltflib.GLTF2.load(path)
        except GltfError:
            raise
        except FileNotFoundError as exc:
            raise GltfError(f"{source}: no such file") from exc
        except Exception as exc:  # pygltflib raises many types for broken input
            raise GltfError(f"{name if isinstance(source, bytes) else source}: "
                            f"not a valid glTF file ({type(exc).__name__}: {exc})") from None
        if g is None:
            raise GltfError(f"{self.name}: no glTF JSON chunk")
        try:
            self.json: dict[str, Any] = json.loads(g.gltf_to_json())
        except Exception as exc:
            raise GltfError(f"{self.name}: unreadable glTF JSON ({exc})") from None
        version = str(self.json.get("asset", {}).get("version", ""))
        if not version.startswith("2."):
            raise GltfError(f"{self.name}: glTF version {version or '?'} is not supported "
                            f"(2.0 is)")
        self._blob = g.binary_blob()
        self._buffers: dict[int, bytes] = {}

    def buffer(self, index: int) -> bytes:
        if index not in self._buffers:
            buffers = self.json.get("buffers", [])
            if not 0 <= index < len(buffers):
                raise GltfError(f"{self.name}: buffer {index} does not exist")
            uri = buffers[index].get("uri")
            if uri is None:
                if self._blob is None:
                    raise GltfError(f"{self.name}: buffer {index} has no data")
                data = bytes(self._blob)
            else:
                data = self._uri(uri, f"buffer {index}")
            if len(data) < buffers[index].get("byteLength", 0):
                raise GltfError(f"{self.name}: buffer {index} is shorter than its byteLength")
            self._buffers[index] = data
        return self._buffers[index]

    def _uri(self, uri: str, what: str) -> bytes:
        if uri.startswith("data:"):
            try:
                return base64.b64decode(uri.split(",", 1)[1])
            except Exception:
                raise GltfError(f"{self.name}: {what} has a malformed data URI") from None
        if self.base is None:
            raise GltfError(f"{self.name}: {what} refers to external file {uri!r}")
        from urllib.parse import unquote
        path = (self.base / unquote(uri)).resolve()
        try:
            return path.read_bytes()
        except OSError:
            raise GltfError(f"{self.name}: {what} file {uri!r} cannot be read") from None

    def view_bytes(self, index: int) -> bytes:
        views = self.json.get("bufferViews", [])
        if not 0 <= index < len(views):
            raise GltfError(f"{self.name}: bufferView {index} does not exist")
        v = views[index]
        data = self.buffer(v["buffer"])
        start = v.get("byteOffset", 0)
        end = start + v["byteLength"]
        if end > len(data):
            raise GltfError(f"{self.name}: bufferView {index} runs past its buffer")
        return data[start:end]

    def image_bytes(self, image: dict[str, Any], index: int) -> tuple[bytes, str]:
        if "bufferView" in image:
            return self.view_bytes(image["bufferView"]), image.get("mimeType", "image/png")
        uri = image.get("uri")
        if uri is None:
            raise GltfError(f"{self.name}: image {index} has neither uri nor bufferView")
        mime = image.get("mimeType")
        if uri.startswith("data:"):
            mime = mime or uri[5:].split(";", 1)[0]
        mime = mime or mimetypes.guess_type(uri)[0] or "image/png"
        return self._uri(uri, f"image {index}"), mime


# ---------------------------------------------------------------------- writing

class _Builder:
    """A glTF being written: JSON lists plus one binary blob (4-byte aligned views)."""

    def __init__(self) -> None:
        self.json: dict[str, Any] = {"asset": {"version": "2.0", "generator": _GENERATOR}}
        self.blob = bytearray()
        self.used: set[str] = set()
        self.required: set[str] = set()

    def append(self, key: str, item: dict[str, Any]) -> int:
        items = self.json.setdefault(key, [])
        items.append(item)
        return len(items) - 1

    def add_view(self, data: bytes, src_view: dict[str, Any] | None = None) -> int:
        self.blob.extend(b"\0" * (-len(self.blob) % 4))
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self.blob),
                                "byteLength": len(data)}
        for k in ("byteStride", "target", "name", "extras"):
            if src_view and k in src_view:
                view[k] = src_view[k]
        self.blob.extend(data)
        return self.append("bufferViews", view)

    def to_glb(self) -> bytes:
        self.blob.extend(b"\0" * (-len(self.blob) % 4))
        if self.blob:
            self.json["buffers"] = [{"byteLength": len(self.blob)}]
        if self.used:
            self.json["extensionsUsed"] = sorted(self.used)
        if self.required:
            self.json["extensionsRequired"] = sorted(self.required)
        g = pygltflib.GLTF2.from_json(json.dumps(self.json))
        g.set_binary_blob(bytes(self.blob))
        return b"".join(g.save_to_bytes())


class _MeshCopier:
    """Copies meshes, with everything they reference, from one glTF into a builder.
    Each source object is copied once (memoised), whatever number of meshes share it."""

    def __init__(self, src: _Doc, dst: _Builder):
        self.src, self.dst = src, dst
        self.memo: dict[tuple[str, int], int] = {}
        sj = src.json
        self.used = set(sj.get("extensionsUsed", []))
        self.required = set(sj.get("extensionsRequired", []))

    def _get(self, key: str, index: int) -> dict[str, Any]:
        items = self.src.json.get(key, [])
        if not isinstance(index, int) or not 0 <= index < len(items):
            raise GltfError(f"{self.src.name}: {key}[{index}] does not exist")
        return json.loads(json.dumps(items[index]))  # a deep copy to rewrite

    def _once(self, key: str, index: int, make: Callable[[dict[str, Any]], dict[str, Any]]
              ) -> int:
        memo_key = (key, index)
        if memo_key not in self.memo:
            self.memo[memo_key] = self.dst.append(key, make(self._get(key, index)))
        return self.memo[memo_key]

    def mesh(self, index: int) -> int:
        def make(mesh: dict[str, Any]) -> dict[str, Any]:
            for prim in mesh.get("primitives", []):
                prim["attributes"] = {k: self.accessor(v, _ARRAY_BUFFER) for k, v in
                                      prim.get("attributes", {}).items()}
                if "indices" in prim:
                    prim["indices"] = self.accessor(prim["indices"], _ELEMENT_ARRAY_BUFFER)
                if "material" in prim:
                    prim["material"] = self.material(prim["material"])
                if "targets" in prim:
                    prim["targets"] = [{k: self.accessor(v, _ARRAY_BUFFER) for k, v in t.items()}
                                       for t in prim["targets"]]
                draco = prim.get("extensions", {}).get("KHR_draco_mesh_compression")
                if draco is not None:
                    draco["bufferView"] = self.view(draco["bufferView"])
            self._extensions(mesh)
            return mesh
        return self._once("meshes", index, make)

    def _extensions(self, obj: Any) -> None:
        """Carry the extensions an object uses into the output's declarations."""
        if isinstance(obj, dict):
            for name in obj.get("extensions", {}):
                if name in self.used:
                    self.dst.used.add(name)
                if name in self.required:
                    self.dst.required.add(name)
            for v in obj.values():
                self._extensions(v)
        elif isinstance(obj, list):
            for v in obj:
                self._extensions(v)

    def accessor(self, index: int, target: int | None = None) -> int:
        def make(acc: dict[str, Any]) -> dict[str, Any]:
            if "bufferView" in acc:
                acc["bufferView"] = self.view(acc["bufferView"], target)
            sparse = acc.get("sparse")
            if sparse:
                sparse["indices"]["bufferView"] = self.view(sparse["indices"]["bufferView"])
                sparse["values"]["bufferView"] = self.view(sparse["values"]["bufferView"])
            return acc
        return self._once("accessors", index, make)

    def view(self, index: int, target: int | None = None) -> int:
        key = ("bufferViews", index)
        if key not in self.memo:
            src_view = self._get("bufferViews", index)
            if target is not None and "target" not in src_view:
                src_view["target"] = target  # glTF 2.0 §3.6.2.1: set it for vertex/index data
            if "extensions" in src_view:
                raise GltfError(f"{self.src.name}: bufferView {index} uses "
                                f"{', '.join(src_view['extensions'])}, which import does not "
                                f"support yet")
            self.memo[key] = self.dst.add_view(self.src.view_bytes(index), src_view)
        return self.memo[key]

    def material(self, index: int) -> int:
        def make(mat: dict[str, Any]) -> dict[str, Any]:
            self._remap_textures(mat)
            self._extensions(mat)
            return mat
        return self._once("materials", index, make)

    def _remap_textures(self, obj: Any) -> None:
        # Every texture reference in a material (core or extension) is a textureInfo: an
        # object under a key ending in "Texture" with an "index" (glTF 2.0 §5.22).
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k.endswith("Texture") and isinstance(v, dict) and "index" in v:
                    v["index"] = self.texture(v["index"])
                self._remap_textures(v)
        elif isinstance(obj, list):
            for v in obj:
                self._remap_textures(v)

    def texture(self, index: int) -> int:
        def make(tex: dict[str, Any]) -> dict[str, Any]:
            if "source" in tex:
                tex["source"] = self.image(tex["source"])
            if "sampler" in tex:
                tex["sampler"] = self._once("samplers", tex["sampler"], lambda s: s)
            for ext in tex.get("extensions", {}).values():
                if isinstance(ext, dict) and "source" in ext:
                    ext["source"] = self.image(ext["source"])
            self._extensions(tex)
            return tex
        return self._once("textures", index, make)

    def image(self, index: int) -> int:
        def make(img: dict[str, Any]) -> dict[str, Any]:
            data, mime = self.src.image_bytes(img, index)
            out = {"bufferView": self.dst.add_view(data), "mimeType": mime}
            if "name" in img:
                out["name"] = img["name"]
            return out
        return self._once("images", index, make)


def _mesh_bounds(doc: _Doc, mesh_index: int) -> tuple[float, ...]:
    """Local bounds of a mesh from its POSITION accessors' min/max (glTF requires them)."""
    mesh = doc.json["meshes"][mesh_index]
    lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
    for prim in mesh.get("primitives", []):
        pos = prim.get("attributes", {}).get("POSITION")
        if pos is None:
            continue
        acc = doc.json["accessors"][pos]
        if "min" not in acc or "max" not in acc:
            raise GltfError(f"{doc.name}: mesh {mesh_index} POSITION accessor {pos} has no "
                            f"min/max (required by glTF 2.0 §5.1.1)")
        lo = np.minimum(lo, acc["min"][:3])
        hi = np.maximum(hi, acc["max"][:3])
    if not np.isfinite(lo).all():
        return (0.0,) * 6
    return tuple(lo.tolist()) + tuple(hi.tolist())


def mesh_glb_bounds(data: bytes) -> tuple[float, ...]:
    """Bounds of the (first) mesh of a single-mesh GLB, in its own frame."""
    doc = _Doc(data)
    if not doc.json.get("meshes"):
        raise GltfError("the GLB has no mesh")
    return _mesh_bounds(doc, 0)


# ---------------------------------------------------------------------- import

def _node_trs(node: dict[str, Any], where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        if "matrix" in node:
            m = np.asarray(node["matrix"], dtype=float).reshape(4, 4).T  # column-major
            t, r, s = _math.decompose(m)
        else:
            t = np.asarray(node.get("translation", (0, 0, 0)), dtype=float)
            r = np.asarray(node.get("rotation", (0, 0, 0, 1)), dtype=float)
            s = np.asarray(node.get("scale", (1, 1, 1)), dtype=float)
            if r.shape != (4,) or np.linalg.norm(r) == 0:
                raise ValueError("rotation is not a quaternion")
            r = r / np.linalg.norm(r)
    except (ValueError, TypeError) as exc:
        raise GltfError(f"{where}: bad transform ({exc})") from None
    if t.shape != (3,) or s.shape != (3,) or not (np.isfinite(t).all() and np.isfinite(s).all()
                                                  and np.isfinite(r).all()):
        raise GltfError(f"{where}: bad transform")
    return t, r, s


def _extras_properties(extras: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(properties, minetwin block) from a node's extras. Foreign extras become properties:
    numbers as float, booleans and text as they are, anything else as JSON text."""
    if not isinstance(extras, dict):
        return {}, None
    own = extras.get(_EXTRAS_KEY)
    props: dict[str, Any] = {}
    for k, v in extras.items():
        if k == _EXTRAS_KEY:
            continue
        if isinstance(v, bool) or isinstance(v, str):
            props[k] = v
        elif isinstance(v, (int, float)):
            props[k] = float(v)
        else:
            props[k] = json.dumps(v, ensure_ascii=False, sort_keys=True)
    return props, own if isinstance(own, dict) else None


def import_gltf(scene: Scene, source: str | Path | bytes, *, store: MeshStore,
                parent: str | None = None, id_prefix: str = "gltf",
                tags: Iterable[str] = ()) -> list[str]:
    """Import a glTF scene under ``parent``; returns the ids of the top-level nodes added.

    Node ids come from ``extras.minetwin.id`` when the file was written by MineTwin, else
    ``<id_prefix>/<node name or node-N>`` (made unique). ``tags`` are added to every node.
    The whole file is checked before the scene is touched: a broken file changes nothing.
    """
    doc = _Doc(source)
    j = doc.json
    nodes = j.get("nodes", [])
    if "scenes" in j and j["scenes"]:
        si = j.get("scene", 0)
        if not 0 <= si < len(j["scenes"]):
            raise GltfError(f"{doc.name}: default scene {si} does not exist")
        roots = list(j["scenes"][si].get("nodes", []))
    else:
        child = {c for n in nodes for c in n.get("children", [])}
        roots = [i for i in range(len(nodes)) if i not in child]

    # Plan the whole tree first (validating), then write to the store and the scene.
    plan: list[tuple[int, int | None, bool]] = []   # (node index, parent index, top-level)
    seen: set[int] = set()
    stack = [(i, None) for i in reversed(roots)]
    while stack:
        i, p = stack.pop()
        if not isinstance(i, int) or not 0 <= i < len(nodes):
            raise GltfError(f"{doc.name}: node {i} does not exist")
        if i in seen:
            raise GltfError(f"{doc.name}: node {i} has more than one parent (or a cycle)")
        seen.add(i)
        plan.append((i, p, p is None))
        stack.extend((c, i) for c in reversed(nodes[i].get("children", [])))

    used_ids = set(scene)
    ids: dict[int, str] = {}
    specs = []
    for i, p, top in plan:
        node = nodes[i]
        where = f"{doc.name}: node {i} ({node.get('name', '')!r})"
        t, r, s = _node_trs(node, where)
        if top:
            t, r, s = _axes.gltf_to_scene_trs(t, r, s)
        props, own = _extras_properties(node.get("extras"))
        node_id = own.get("id") if own else None
        if not isinstance(node_id, str) or not node_id or node_id in used_ids:
            base = f"{id_prefix}/{node.get('name') or f'node-{i}'}"
            node_id, k = base, 1
            while node_id in used_ids:
                k += 1
                node_id = f"{base}-{k}"
        used_ids.add(node_id)
        ids[i] = node_id
        if "mesh" in node and not 0 <= node["mesh"] < len(j.get("meshes", [])):
            raise GltfError(f"{where}: mesh {node['mesh']} does not exist")
        specs.append((i, p, node, t, r, s, props, own))

    meshes: dict[int, MeshRef] = {}
    for i, p, node, *_ in specs:
        mi = node.get("mesh")
        if mi is not None and mi not in meshes:
            builder = _Builder()
            copier = _MeshCopier(doc, builder)
            new = copier.mesh(mi)
            builder.append("nodes", {"mesh": new})
            builder.json["scenes"] = [{"nodes": [0]}]
            builder.json["scene"] = 0
            data = builder.to_glb()
            bounds = _mesh_bounds(doc, mi)
            name = j["meshes"][mi].get("name", f"mesh-{mi}")
            asset = store.put_glb(data, {"source": doc.name, "mesh": name, "bounds": bounds,
                                         "units": "m"})
            meshes[mi] = MeshRef(asset, (), bounds)

    extra_tags = frozenset(tags)
    for i, p, node, t, r, s, props, own in specs:
        own = own or {}
        n = scene.add(ids[i], parent if p is None else ids[p],
                      name=str(node.get("name", "")), translation=t, rotation=r, scale=s,
                      mesh=meshes.get(node.get("mesh")))
        node_tags = set(extra_tags)
        if isinstance(own.get("tags"), list):
            node_tags.update(x for x in own["tags"] if isinstance(x, str) and x)
        if node_tags:
            scene.set_tags(n.handle, node_tags)
        for name, value in props.items():
            scene.set_property(n.handle, name, value)
        for name, pv in (own.get("properties") or {}).items():
            if isinstance(pv, list) and len(pv) == 2:
                scene.set_property(n.handle, name, pv[0], unit=pv[1])
        vis = own.get("visual")
        if isinstance(vis, dict):
            scene.set_visual(n.handle, **{k: v for k, v in vis.items()
                                          if k in ("color", "opacity", "visible", "emissive",
                                                   "blink", "label")})
        if isinstance(own.get("lods"), list) and n.mesh is not None:
            scene.set_mesh(n.handle, MeshRef(n.mesh.asset, tuple(own["lods"]), n.mesh.bounds))
    return [ids[i] for i, p, _ in plan if p is None]


# ---------------------------------------------------------------------- export

def export_glb(scene: Scene, *, store: MeshStore, root: str | None = None,
               path: str | Path | None = None) -> bytes:
    """Write the scene (or the subtree at ``root``, which becomes the top-level node) as a
    GLB; returns the bytes and writes them to ``path`` when given."""
    b = _Builder()
    copiers: dict[str, tuple[_MeshCopier, int]] = {}
    top = list(scene.children_of(None)) if root is None else [root]

    def emit(node_id: str, is_top: bool) -> int:
        h = scene.handle(node_id)
        t, r, s = scene.translation(h), scene.rotation(h), scene.scale(h)
        if is_top:
            t, r, s = _axes.scene_to_gltf_trs(t, r, s)
        out: dict[str, Any] = {}
        name = scene.get_field(h, "name")
        if name:
            out["name"] = name
        if np.any(t != 0):
            out["translation"] = [float(x) for x in t]
        if np.any(np.asarray(r) != (0, 0, 0, 1)):
            out["rotation"] = [float(x) for x in r]
        if np.any(s != 1):
            out["scale"] = [float(x) for x in s]
        mesh = scene.get_field(h, "mesh")
        if mesh is not None:
            if mesh.asset not in copiers:
                try:
                    data = store.get(mesh.asset)
                except KeyError:
                    raise GltfError(f"node {node_id!r}: mesh asset {mesh.asset} is not in "
                                    f"the store") from None
                src = _Doc(data, name=f"asset {mesh.asset}")
                if not src.json.get("meshes"):
                    raise GltfError(f"asset {mesh.asset} has no mesh")
                cp = _MeshCopier(src, b)
                copiers[mesh.asset] = (cp, cp.mesh(0))
            out["mesh"] = copiers[mesh.asset][1]
        own: dict[str, Any] = {"id": node_id}
        tags = sorted(scene.get_field(h, "tags"))
        if tags:
            own["tags"] = tags
        props = {k: [v.value, v.unit] for k, v in scene.properties(h).items()}
        if props:
            own["properties"] = props
        vis = scene.visual(h)
        defaults = type(vis)()
        vd = {k: getattr(vis, k) for k in vis.__slots__ if getattr(vis, k) != getattr(defaults, k)}
        if vd:
            own["visual"] = vd
        if mesh is not None and mesh.lods:
            own["lods"] = list(mesh.lods)
        out["extras"] = {_EXTRAS_KEY: own}
        index = b.append("nodes", out)
        kids = [emit(k, False) for k in scene.children_of(h)]
        if kids:
            b.json["nodes"][index]["children"] = kids
        return index

    roots = [emit(n, True) for n in top]
    b.json["scenes"] = [{"nodes": roots}] if roots else [{}]
    b.json["scene"] = 0
    data = b.to_glb()
    if path is not None:
        Path(path).write_bytes(data)
    return data
