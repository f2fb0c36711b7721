"""Routes of this app (mounted under /api/)."""

from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("exports", views.ExportViewSet, basename="export")
router.register("imports", views.ImportViewSet, basename="dataset-import")
router.register("agreement-rounds", views.AgreementRoundViewSet, basename="agreement-round")

urlpatterns = router.urls
