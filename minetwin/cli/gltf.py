"""``minetwin gltf inspect`` and ``gltf convert``: import a glTF/GLB, print its node tree or
write it back as one validated GLB (docs/scene.md)."""

from __future__ import annotations

import argparse
import sys
import tempfile

__all__ = ["add_parsers"]


def _tree_lines(scene, node_id: str | None, depth: int) -> list[str]:
    out = []
    for child in scene.children_of(node_id):
        n = scene.node(child)
        t = ", ".join(f"{v:.3f}" for v in n.translation)
        mesh = f" mesh={n.mesh.asset[:12]} bounds={n.mesh.bounds}" if n.mesh else ""
        props = f" props={ {k: v.value for k, v in n.properties.items()} }" \
            if n.properties else ""
        out.append(f"{'  ' * depth}{child}  name={n.name!r} t=({t}){mesh}{props}")
        out.extend(_tree_lines(scene, child, depth + 1))
    return out


def _cmd_gltf(args: argparse.Namespace) -> int:
    from assets import AssetStore
    from scene import GltfError, Scene
    from scene import export_glb, import_gltf

    with tempfile.TemporaryDirectory() as tmp:
        store = AssetStore(args.store or tmp)
        scene = Scene()
        try:
            import_gltf(scene, args.input, store=store, id_prefix=args.prefix)
        except GltfError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.gltf_command == "inspect":
            print("\n".join(_tree_lines(scene, None, 0)))
            print(f"# {len(scene)} nodes", file=sys.stderr)
            return 0
        scene.commit(0)
        export_glb(scene, store=store, path=args.output)
        from assets import validate_files, validator_available
        if validator_available() is None:
            report = validate_files([args.output])[0]
            print(f"{args.output}: {report.errors} errors, {report.warnings} warnings "
                  f"(Khronos glTF validator)")
            return 0 if report.ok else 1
        print(f"{args.output}: written ({validator_available()}; not validated)")
        return 0


def add_parsers(sub) -> None:
    g = sub.add_parser("gltf", help="glTF import/export")
    g_sub = g.add_subparsers(dest="gltf_command", required=True)
    for name, helptext in (("inspect", "import and print the node tree"),
                           ("convert", "import and write back as a validated GLB")):
        c = g_sub.add_parser(name, help=helptext)
        c.add_argument("input")
        if name == "convert":
            c.add_argument("output")
        c.add_argument("--store", help="asset store folder (default: a temporary one)")
        c.add_argument("--prefix", default="gltf", help="id prefix for imported nodes")
        c.set_defaults(func=_cmd_gltf)
