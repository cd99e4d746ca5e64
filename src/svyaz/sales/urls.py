"""Placeholder routes: the owner of this app replaces them with real views."""

from django.http import HttpResponse
from django.urls import path

app_name = "sales"


def _todo(request, *args, **kwargs):
    return HttpResponse("todo")


urlpatterns = [
    path("lead-list/", _todo, name="lead_list"),
    path("lead-create/", _todo, name="lead_create"),
    path("lead-detail/<int:pk>/", _todo, name="lead_detail"),
    path("lead-convert/<int:pk>/", _todo, name="lead_convert"),
    path("board/", _todo, name="board"),
    path("deal-list/", _todo, name="deal_list"),
    path("deal-create/", _todo, name="deal_create"),
    path("deal-detail/<int:pk>/", _todo, name="deal_detail"),
    path("deal-move/<int:pk>/", _todo, name="deal_move"),
    path("order-list/", _todo, name="order_list"),
    path("order-create/", _todo, name="order_create"),
    path("order-detail/<int:pk>/", _todo, name="order_detail"),
    path("product-list/", _todo, name="product_list"),
]
