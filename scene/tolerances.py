"""Numeric tolerances of the scene graph, in one place."""

#: A rotation quaternion whose norm is further than this from 1 is rejected, not normalised
#: silently; within it the quaternion is normalised before it is stored.
QUATERNION_NORM_TOLERANCE = 1e-3

#: Spatial index: items whose world bounds have a half-diagonal above this (metres) are tested
#: by brute force instead of living in the k-d tree (long roadways, strata volumes).
SPATIAL_LARGE_ITEM_M = 50.0

#: glTF round trips compare transforms and bounds within this (metres / unitless).
GLTF_ROUNDTRIP_TOLERANCE = 1e-5
