"""REST API views: projects, memberships, classes, panoramas, instances, reviews, uploads.

Querysets only ever contain objects of projects the user belongs to, so anything else
answers 404. Writes are checked against the user's project role (permissions.py).

Modules by job: ``common`` (revision rule, project-scoped base class, helpers),
``projects`` (projects, users, memberships, classes), ``panoramas`` (panorama CRUD,
assignment, active time, reviews), ``panorama_files`` (the panorama's images),
``instances`` (a panorama's instance set and label maps, single instances) and
``uploads`` (chunked uploads). The names other code uses are importable from here.
"""

from .common import (
    ProjectScopedViewSet,
    base_revision,
    can_review_panorama,
    conflict_response,
    get_visible_panorama,
    positive_int,
    require_revision,
)
from .instances import PANORAMA_INSTANCES, PANORAMA_INSTANCES_PATCH, InstanceViewSet
from .panoramas import PanoramaFilter, PanoramaViewSet
from .projects import (
    LabelClassViewSet,
    MembershipViewSet,
    ProjectViewSet,
    UserViewSet,
    may_create_projects,
)
from .uploads import ChunkParser, UploadSessionViewSet

__all__ = [
    "PANORAMA_INSTANCES",
    "PANORAMA_INSTANCES_PATCH",
    "ChunkParser",
    "InstanceViewSet",
    "LabelClassViewSet",
    "MembershipViewSet",
    "PanoramaFilter",
    "PanoramaViewSet",
    "ProjectScopedViewSet",
    "ProjectViewSet",
    "UploadSessionViewSet",
    "UserViewSet",
    "base_revision",
    "can_review_panorama",
    "conflict_response",
    "get_visible_panorama",
    "may_create_projects",
    "positive_int",
    "require_revision",
]
