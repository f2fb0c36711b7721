"""Routes of this app (filled as its features land)."""

urlpatterns: list = []
