"""``minetwin assets …``: the asset pipeline from the command line (docs/assets.md).

    minetwin assets import FILE --store DIR [--control-points CSV] [--compress]
    minetwin assets import-scan FILE --store DIR (--trajectory CSV | --centerline CSV) …
    minetwin assets sweep --centerline CSV --profile KIND --width W --height H --store DIR
    minetwin assets deviation --scan MESH --reference MESH --centerline CSV --out GLB
    minetwin assets sections SCAN [--every 5] [--centerline-out CSV]
    minetwin assets list --store DIR [--json]
    minetwin assets show ID --store DIR

Results are JSON on stdout; progress goes to stderr (tqdm); errors are one line on stderr and
exit status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["add_parsers"]


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _polyline(path: str) -> np.ndarray:
    """A CSV of x, y, z rows (a header line is allowed)."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        parts = [p for p in line.replace(";", ",").replace("\t", ",").split(",") if p.strip()]
        try:
            rows.append([float(v) for v in parts[:3]])
        except ValueError:
            if n == 1:
                continue
            raise ValueError(f"{path}:{n}: expected x, y, z") from None
    arr = np.array(rows)
    if arr.ndim != 2 or arr.shape[1] != 3 or len(arr) < 2:
        raise ValueError(f"{path}: a polyline needs at least two x, y, z rows")
    return arr


def _georef(args, meta: dict):
    if not args.control_points:
        return None
    from assets import fit_similarity, read_control_points
    names, src, dst = read_control_points(args.control_points)
    fit = fit_similarity(src, dst, names=names, allow_scale=not args.rigid)
    meta["georeference"] = {"control_points": str(args.control_points), **fit.report()}
    print(f"georeference: {len(names)} control points, RMS {fit.rms * 1000:.1f} mm",
          file=sys.stderr)
    return fit


def _store(args):
    from assets import AssetStore
    return AssetStore(args.store)


def _existing_store(args):
    """The store of ``--store`` for a command that only reads it: a folder that is not a
    store is an error (exit 2), and nothing is created."""
    from assets import AssetStore, NotAStoreError
    try:
        return AssetStore(args.store, create=False)
    except NotAStoreError as exc:
        raise SystemExit(_fail(str(exc))) from None


def _lods(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(","))


def _cmd_import(args) -> int:
    import trimesh

    from assets import AssetImportError, MeshData, import_file
    from assets import store_mesh
    try:
        data = import_file(args.file)
        if not isinstance(data, MeshData):
            return _fail(f"{args.file} is a point cloud: use `minetwin assets import-scan`")
        mesh = data.mesh.to_geometry() if isinstance(data.mesh, trimesh.Scene) else data.mesh
        meta = {"source": [str(args.file)], "kind": "mesh", "import": data.meta}
        fit = _georef(args, meta)
        if fit is not None:
            mesh = mesh.copy()
            mesh.apply_transform(fit.matrix)
        top, lods = store_mesh(_store(args), mesh, meta, lods=_lods(args.lods),
                               compress=args.compress, precision=args.precision)
    except (AssetImportError, ValueError, OSError) as exc:
        return _fail(str(exc))
    print(json.dumps({"asset": top, "lods": lods}))
    return 0


def _cmd_import_scan(args) -> int:
    from tqdm import tqdm

    from assets import AssetImportError, PointCloud, import_file
    from assets import store_mesh
    from assets import ScanError, ScanParams, reconstruct
    stages = ["crop", "voxel downsample", "outlier removal", "normals", "poisson", "trim",
              "fill holes", "simplify"]
    try:
        cloud = import_file(args.file)
        if not isinstance(cloud, PointCloud):
            return _fail(f"{args.file} is a mesh: use `minetwin assets import`")
        meta = {"source": [str(args.file)], "kind": "scan", "import": cloud.meta}
        pts = cloud.points
        fit = _georef(args, meta)
        if fit is not None:
            pts = fit.apply(pts)
        trajectory = _polyline(args.trajectory) if args.trajectory else None
        centerline = _polyline(args.centerline) if args.centerline else trajectory
        params = ScanParams(voxel=args.voxel, poisson_depth=args.depth, max_error=args.max_error)
        with tqdm(total=len(stages), desc="scan → mesh", unit="step", file=sys.stderr,
                  disable=args.quiet) as bar:
            def progress(name):
                bar.set_postfix_str(name)
                bar.update(1)
            result = reconstruct(pts, centerline=centerline, params=params, progress=progress)
        meta.update(result.metadata())
        top, lods = store_mesh(_store(args), result.mesh, meta, lods=_lods(args.lods),
                               compress=args.compress, precision=args.precision)
    except (AssetImportError, ScanError, ValueError, OSError) as exc:
        return _fail(str(exc))
    print(json.dumps({"asset": top, "lods": lods, "stats": result.stats}))
    return 0


def _cmd_sweep(args) -> int:
    from assets import store_mesh
    from assets import join_roadways
    from twin import Profile
    try:
        profile = Profile(args.profile, args.width, args.height)
        lines = {str(c): _polyline(c) for c in args.centerline}
        joined = join_roadways({c: (line, profile.outline()) for c, line in lines.items()})
        done = []
        for c, mesh in joined.items():
            top, lods = store_mesh(_store(args), mesh, {
                "source": [c], "kind": "design sweep",
                "joined_with": [o for o in lines if o != c],
                "processing": {"profile": args.profile, "width_m": args.width,
                               "height_m": args.height},
                "uv": "metres: chainage, distance around the section"},
                lods=_lods(args.lods), compress=args.compress, precision=args.precision,
                normals=True)
            done.append({"centerline": c, "asset": top, "lods": lods})
    except (ValueError, OSError) as exc:
        return _fail(str(exc))
    print(json.dumps({**(done[0] if len(done) == 1 else {}), "roadways": done}))
    return 0


def _cmd_deviation(args) -> int:
    import trimesh

    from assets.deviation import deviation, deviation_colors
    try:
        scan = trimesh.load(args.scan, force="mesh")
        ref = trimesh.load(args.reference, force="mesh")
        rep = deviation(scan, ref, _polyline(args.centerline), tolerance=args.tolerance,
                        axis_height=args.axis_height)
    except (ValueError, OSError) as exc:
        return _fail(str(exc))
    colored = scan.copy()
    colored.visual = trimesh.visual.ColorVisuals(colored, vertex_colors=deviation_colors(
        rep.signed, args.tolerance))
    Path(args.out).write_bytes(colored.export(file_type="glb"))
    summary = {"scan": str(args.scan), "reference": str(args.reference), **rep.summary()}
    if args.report:
        Path(args.report).write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def _cmd_sections(args) -> int:
    from assets import AssetImportError, PointCloud, import_file
    from assets import SectionError, centerline_from_scan, cross_section
    try:
        cloud = import_file(args.file)
        if not isinstance(cloud, PointCloud):
            return _fail(f"{args.file} is a mesh: sections are measured on a scan")
        line = centerline_from_scan(cloud.points, spacing=args.spacing)
        length = float(np.linalg.norm(np.diff(line, axis=0), axis=1).sum())
        sections = [cross_section(cloud.points, line, c)
                    for c in np.arange(0.0, length + 1e-9, args.every)]
    except (AssetImportError, SectionError, OSError) as exc:
        return _fail(str(exc))
    if args.centerline_out:
        np.savetxt(args.centerline_out, line, delimiter=",", fmt="%.4f", header="x,y,z",
                   comments="")
    print(json.dumps({"length_m": round(length, 3), "centerline_points": len(line),
                      "sections": [{"chainage_m": round(x.chainage, 2),
                                    "width_m": round(x.width, 3), "height_m": round(x.height, 3),
                                    "area_m2": round(x.area, 3)} for x in sections]}))
    return 0


def _cmd_list(args) -> int:
    store = _existing_store(args)
    rows = [{"id": i, "path": str(store.path(i)), **store.meta(i)} for i in store]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            tris = r.get("triangles_per_lod", ["?"])
            print(f"{r['id'][:16]}  {r.get('kind', '-'):<12} {r['size']:>10} B  "
                  f"lod {r.get('lod', 1.0):<5} triangles {tris[0] if r.get('lod', 1.0) >= 1 else ''}"
                  f"  {', '.join(r.get('source', [])) if isinstance(r.get('source'), list) else r.get('source', '')}")
    return 0


def _cmd_show(args) -> int:
    from assets import AssetNotFoundError
    store = _existing_store(args)
    try:
        thumb = store.root / "thumbs" / f"{args.id}.png"
        print(json.dumps({"path": str(store.path(args.id)), **store.meta(args.id),
                          "thumbnail": str(thumb) if thumb.exists() else None},
                         ensure_ascii=False, indent=1))
    except AssetNotFoundError as exc:
        return _fail(str(exc))
    return 0


def _cmd_thumbnails(args) -> int:
    """Render a PNG thumbnail of each GLB in the store (``thumbs/<id>.png``)."""
    from render import RenderError, Renderer, thumbnail
    store = _existing_store(args)
    ids = args.ids or [i for i in store if store.meta(i).get("media_type") == "model/gltf-binary"]
    out = store.root / "thumbs"
    out.mkdir(exist_ok=True)
    try:
        r = Renderer((args.size, args.size), software=True if args.software else None)
    except RenderError as exc:
        return _fail(str(exc))
    done, failed = [], {}
    for i in ids:
        try:
            thumbnail(r, store.path(i)).save(out / f"{i}.png")
            done.append(i)
        except Exception as exc:                     # one bad asset does not stop the rest
            failed[i] = f"{type(exc).__name__}: {exc}"
    r.close()
    print(json.dumps({"thumbnails": len(done), "folder": str(out), "failed": failed,
                      "renderer": r.driver}, ensure_ascii=False))
    return 1 if failed else 0


def add_parsers(sub) -> None:
    a = sub.add_parser("assets", help="the asset pipeline and store (docs/assets.md)")
    a_sub = a.add_subparsers(dest="assets_command", required=True)

    def common(p, lods=True):
        p.add_argument("--store", required=True, help="the asset store folder")
        if lods:
            p.add_argument("--lods", default="1,0.25,0.05", help="LOD ratios of triangles")
            p.add_argument("--compress", action="store_true",
                           help="meshopt compression + quantized positions (gltfpack)")
            p.add_argument("--precision", type=float, default=0.005,
                           help="wanted position precision after quantization, m")

    imp = a_sub.add_parser("import", help="a mesh (glTF/GLB, OBJ, PLY, STL) into the store")
    imp.add_argument("file")
    common(imp)
    imp.add_argument("--control-points", help="CSV: name, x/y/z in the file, x/y/z in the mine grid")
    imp.add_argument("--rigid", action="store_true", help="no scale in the georeference")
    imp.set_defaults(func=_cmd_import)

    isc = a_sub.add_parser("import-scan", help="a point cloud → a roadway mesh in the store")
    isc.add_argument("file")
    common(isc)
    isc.add_argument("--trajectory", help="CSV x, y, z of the scanner's path (the inside)")
    isc.add_argument("--centerline", help="CSV x, y, z of the roadway centerline (the inside)")
    isc.add_argument("--voxel", type=float, default=0.05)
    isc.add_argument("--depth", type=int, default=10, help="Poisson octree depth")
    isc.add_argument("--max-error", type=float, default=0.01,
                     help="simplification error bound, m")
    isc.add_argument("--control-points")
    isc.add_argument("--rigid", action="store_true")
    isc.add_argument("--quiet", action="store_true", help="no progress bar")
    isc.set_defaults(func=_cmd_import_scan)

    sw = a_sub.add_parser("sweep", help="design roadways: centerlines + profile → meshes "
                                        "joined at their junctions")
    sw.add_argument("--centerline", required=True, action="append",
                    help="CSV x, y, z; repeat for a network (one asset per roadway)")
    sw.add_argument("--profile", default="semicircular_arch",
                    choices=["rectangle", "trapezoid", "semicircular_arch", "three_centred_arch"])
    sw.add_argument("--width", type=float, required=True)
    sw.add_argument("--height", type=float, required=True)
    common(sw)
    sw.set_defaults(func=_cmd_sweep)

    dv = a_sub.add_parser("deviation", help="as-built mesh vs design or an earlier scan")
    dv.add_argument("--scan", required=True)
    dv.add_argument("--reference", required=True)
    dv.add_argument("--centerline", required=True)
    dv.add_argument("--tolerance", type=float, default=0.05)
    dv.add_argument("--axis-height", type=float, default=0.0,
                    help="height of the axis convergence is measured toward, m")
    dv.add_argument("--out", required=True, help="the coloured GLB")
    dv.add_argument("--report", help="the report as JSON")
    dv.set_defaults(func=_cmd_deviation)

    se = a_sub.add_parser("sections", help="centerline and cross-sections measured on a scan")
    se.add_argument("file")
    se.add_argument("--spacing", type=float, default=1.0, help="centerline point spacing, m")
    se.add_argument("--every", type=float, default=5.0, help="a cross-section every … m")
    se.add_argument("--centerline-out", help="write the centerline as CSV x, y, z")
    se.set_defaults(func=_cmd_sections)

    ls = a_sub.add_parser("list", help="every asset with its file path and metadata")
    common(ls, lods=False)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_cmd_list)

    th = a_sub.add_parser("thumbnails", help="PNG thumbnails of the store's meshes (Panda3D)")
    th.add_argument("--store", required=True, help="the asset store folder")
    th.add_argument("ids", nargs="*", help="asset ids (default: every GLB)")
    th.add_argument("--size", type=int, default=256)
    th.add_argument("--software", action="store_true")
    th.set_defaults(func=_cmd_thumbnails)
    sh = a_sub.add_parser("show", help="one asset's metadata")
    sh.add_argument("id")
    common(sh, lods=False)
    sh.set_defaults(func=_cmd_show)
