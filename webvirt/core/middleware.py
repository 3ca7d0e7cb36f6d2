from django.utils.cache import add_never_cache_headers, patch_cache_control


class PrivatePagesMiddleware:
    """Pages for a signed-in user (and console tickets) are never kept by a browser or a proxy cache:
    after logging out, the back button or a shared machine must not show them again."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated:
            if response.has_header("Cache-Control"):
                patch_cache_control(response, no_store=True, private=True)
            else:
                add_never_cache_headers(response)
        return response
