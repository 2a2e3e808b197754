"""``/api/v1/`` routes of master data."""

from rest_framework.routers import SimpleRouter

from valuestreams.api import views

router = SimpleRouter()
router.register("value-streams", views.ValueStreamViewSet, basename="value-stream")
router.register("product-families", views.ProductFamilyViewSet, basename="product-family")

urlpatterns = router.urls
