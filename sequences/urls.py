"""Routes of the sequences app (included under /api/)."""

from rest_framework.routers import SimpleRouter

from .views import SequenceViewSet

router = SimpleRouter()
router.register("sequences", SequenceViewSet, basename="sequence")
urlpatterns = router.urls
