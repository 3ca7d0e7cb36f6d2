"""The language picker: a signed-in user's choice is kept on their profile and put in their session
at sign-in (core.middleware.LanguageMiddleware reads it from there); anyone's choice is also kept in
the language cookie, so the sign-in page speaks it too."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from webvirt.core.actions import perform
from webvirt.core.middleware import LANGUAGE_SESSION_KEY, supported_language

from .actions import LanguageChoice
from .models import Profile


@receiver(user_logged_in)
def _remember_language(sender, request, user, **kwargs):
    language = Profile.objects.filter(user=user).values_list("language", flat=True).first()
    if language and request is not None:
        request.session[LANGUAGE_SESSION_KEY] = language


@login_not_required
@require_POST
def set_language(request):
    """Speak `language` from now on ("" follows the browser again), then go back where the form was."""
    language = request.POST.get("language", "")
    if language and not supported_language(language):
        return HttpResponseBadRequest(_("webvirt does not speak %(language)s.") % {"language": language})
    if request.user.is_authenticated:
        try:
            perform("account.language", actor=request.user, target=request.user, params=LanguageChoice(language))
        except ValidationError as exc:  # refused by the action's own check
            return HttpResponseBadRequest(" ".join(exc.messages))
        request.session[LANGUAGE_SESSION_KEY] = language
    back = request.POST.get("next") or request.headers.get("referer") or "/"
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
        back = "/"
    response = HttpResponseRedirect(back)
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            secure=settings.SESSION_COOKIE_SECURE,
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response
