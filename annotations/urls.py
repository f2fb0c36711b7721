"""API routes of the annotations app (mounted under /api/)."""

from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("projects", views.ProjectViewSet, basename="project")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("classes", views.LabelClassViewSet, basename="labelclass")
router.register("panoramas", views.PanoramaViewSet, basename="panorama")
router.register("instances", views.InstanceViewSet, basename="instance")
router.register("users", views.UserViewSet, basename="user")
router.register("uploads", views.UploadSessionViewSet, basename="upload")

urlpatterns = router.urls
