"""Editing a layer (OGC API – Features Part 4 semantics, also used from Python by ``City``):
create, replace, merge-patch and delete features, each request one change set in the
layer's history (``digitalcity.history``), validated against the layer definition first.

Rules: the layer's ``[editing]`` must be enabled and name the caller's role (else 403 for a
layer the caller can see, 404 for one it cannot); a role writes only fields it may read and
that are not ``read_only``; codes must exist in the layer's code table; geometries are checked,
repaired and cast as the loader does. Replace, patch and delete need the feature's current
ETag (``If-Match``): 428 without it, 412 when it is stale. Nothing is written unless every
feature of the request passes.
"""

from digitalcity.editing.service import (
    EditRejected,
    Forbidden,
    PreconditionFailed,
    PreconditionRequired,
    create_features,
    delete_feature,
    patch_feature,
    replace_feature,
)

__all__ = [
    "EditRejected",
    "Forbidden",
    "PreconditionFailed",
    "PreconditionRequired",
    "create_features",
    "delete_feature",
    "patch_feature",
    "replace_feature",
]
