"""The mine in plan: what the 2D plan view (GET /api/plan) and the plan picture
(``minetwin render --view overview``) draw, in scene metres (x east, y north, z up) — the
roadways' centrelines with their role and colour, the areas, the workings where they stand
now (advance from the scene), and the colours of the legend."""

from __future__ import annotations

import numpy as np

from scene import Scene

from .geology.meshes import HAZARD_COLORS
from .model import MineModel
from .scene_build import LAYER_COLORS, roadway_role

__all__ = ["mine_plan"]


def mine_plan(model: MineModel, scene: Scene | None = None) -> dict:
    """The plan as a JSON-able dict; ``scene`` gives the workings' live advance."""
    s = scene
    roads = [{"id": r.id, "node": f"roadway/{r.id}", "name": r.name, "type": r.type,
              "air": r.air, "role": roadway_role(r), "color": LAYER_COLORS[roadway_role(r)],
              "length_m": round(r.length_m, 1), "points": np.round(r.centerline, 1).tolist()}
             for r in model.roadways.values()]
    areas = [{"code": a.code, "node": f"area/{a.code}", "name": a.name, "kind": a.kind,
              "rated_headcount": a.rated_headcount, "roadways": list(a.roadways)}
             for a in model.areas.values()]

    def advance(node: str, default: float) -> float:
        return float(s.property(node, "advanced_m", default) if s is not None and node in s
                     else default)

    workings = []
    for f in model.longwalls.values():
        node = f"face/{f.id}"
        adv = advance(node, f.advanced_m)
        workings.append({"id": f.id, "node": node, "kind": "face", "name": f.name,
                         "area": model.working_area(f.id), "advanced_m": round(adv, 1),
                         "line": np.round(f.face_line(adv), 1).tolist()})
    for h in model.headings.values():
        node = f"heading/{h.id}"
        adv = advance(node, h.advanced_m)
        at = model.roadways[h.roadway].point_at(adv)
        workings.append({"id": h.id, "node": node, "kind": "heading", "name": h.name,
                         "area": model.working_area(h.id), "advanced_m": round(adv, 1),
                         "line": [np.round(at, 1).tolist()]})
    return {"roadways": roads, "areas": areas, "workings": workings,
            "colors": {"roadway": {k: LAYER_COLORS[k] for k in ("intake", "return", "belt",
                                                                "other")},
                       "face": 0xF1C40F, "hazard": dict(HAZARD_COLORS)},
            "revision": s.revision if s is not None else 0}
