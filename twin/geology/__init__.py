"""The geological model (issue: transparent geology): boreholes, seam surfaces, and (to
come) meshes, updates from exposure, hazard zones. docs/geology.md."""

from .boreholes import Borehole, BoreholeError, Boreholes, load_boreholes
from .surfaces import SeamModel, Surface, build_seam_model

__all__ = ["Borehole", "Boreholes", "BoreholeError", "load_boreholes", "Surface", "SeamModel",
           "build_seam_model"]
