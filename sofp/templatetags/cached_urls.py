"""``{% url %}`` with its answers kept per process (a template builtin, so every
template's ``{% url %}`` is this one).

A page's navigation reverses twenty-odd names on every request, each a walk of the
URL resolver's patterns; the answer depends only on the name, the arguments, the
current app, the URLconf and the script prefix, all of which are the key here. Only
plain ``str``/``int`` arguments (and template literals) are kept, whose text cannot
change; anything else is reversed as Django always does, and a name that does not
reverse is never kept.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.template import Library
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

register = Library()

# Template literals ('home') are SafeStrings: the same text as a str.
_KEPT_TYPES = (str, SafeString, int)


@functools.lru_cache(maxsize=4096)
def _reverse_kept(
    view_name: str,
    args: tuple[tuple[type, Any], ...],
    kwargs: tuple[tuple[str, type, Any], ...],
    current_app: str | None,
    urlconf: Any,
    root_urlconf: str,
    script_prefix: str,
) -> str:
    # ``root_urlconf`` and ``script_prefix`` only key the answer: reverse() reads them.
    return reverse(
        view_name,
        urlconf=urlconf,
        args=[value for _, value in args],
        kwargs={name: value for name, _, value in kwargs},
        current_app=current_app,
    )


@setting_changed.connect
def _forget(**_: object) -> None:
    """Tests change ROOT_URLCONF and the like: start over (Django clears its own too)."""
    _reverse_kept.cache_clear()


def cached_reverse(
    view_name: Any, args: list[Any], kwargs: dict[str, Any], current_app: str | None
) -> str:
    """``reverse()``, answered from the process's memory for plain names and values."""
    urlconf = get_urlconf()
    if (
        type(view_name) in (str, SafeString)
        and all(type(a) in _KEPT_TYPES for a in args)
        and all(type(v) in _KEPT_TYPES for v in kwargs.values())
        and (current_app is None or type(current_app) is str)
        and (urlconf is None or type(urlconf) is str)
    ):
        return _reverse_kept(
            str(view_name),
            tuple((type(a), a) for a in args),
            tuple(sorted((k, type(v), v) for k, v in kwargs.items())),
            current_app,
            urlconf,
            str(settings.ROOT_URLCONF),
            get_script_prefix(),
        )
    return reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)


class CachedURLNode(URLNode):
    """Django's ``URLNode.render`` with :func:`cached_reverse` in place of reverse()."""

    def render(self, context: Any) -> str:
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = cached_reverse(view_name, args, kwargs, current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        if context.autoescape:
            url = conditional_escape(url)
        return url


@register.tag
def url(parser: Any, token: Any) -> URLNode:
    """Django's ``{% url %}`` (the same syntax and parsing), rendered by
    :class:`CachedURLNode`."""
    node = django_url(parser, token)
    return CachedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
