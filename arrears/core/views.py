from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from arrears.portfolio.selectors import book_counts, import_batch_list, user_can_import

RECENT_IMPORTS_SHOWN = 5


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The landing page: the size of the book the user can see, and the latest imports."""
    return render(
        request,
        "core/home.html",
        {
            "counts": book_counts(user=request.user),
            "recent_imports": import_batch_list(user=request.user, limit=RECENT_IMPORTS_SHOWN),
            "can_import": user_can_import(request.user),
        },
    )
