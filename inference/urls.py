"""Routes of the jobs app (included under /api/)."""

from rest_framework.routers import SimpleRouter

from .views import DerivedAssetViewSet, JobKindViewSet, JobViewSet, ModelWeightsViewSet

router = SimpleRouter()
router.register("jobs", JobViewSet, basename="job")
router.register("assets", DerivedAssetViewSet, basename="derived-asset")
router.register("models", ModelWeightsViewSet, basename="model-weights")
router.register("job-kinds", JobKindViewSet, basename="job-kind")

urlpatterns = router.urls
urlpatterns += __import__("inference.prelabel.urls", fromlist=["urlpatterns"]).urlpatterns
urlpatterns += __import__("inference.reexpose.urls", fromlist=["urlpatterns"]).urlpatterns
urlpatterns += __import__("inference.detectors.urls", fromlist=["urlpatterns"]).urlpatterns
