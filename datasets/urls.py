"""Routes of this app (mounted under /api/)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("exports", views.ExportViewSet, basename="export")
router.register("agreement-rounds", views.AgreementRoundViewSet, basename="agreement-round")

urlpatterns = [path("imports/", views.ImportView.as_view(), name="dataset-import"), *router.urls]
