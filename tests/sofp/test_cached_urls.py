"""``{% url %}`` answered from memory is exactly Django's reverse()."""

from __future__ import annotations

import pytest
from django.template import Context, Engine, Template
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse, set_script_prefix

from sofp.templatetags import cached_urls


def _render(source: str, **context) -> str:
    return get_template_engine().from_string(source).render(Context(context))


def get_template_engine() -> Engine:
    return get_template("base.html").template.engine


@pytest.fixture(autouse=True)
def _fresh():
    cached_urls._reverse_kept.cache_clear()
    yield
    set_script_prefix("/")
    cached_urls._reverse_kept.cache_clear()


def test_the_url_tag_is_the_cached_one():
    template = get_template_engine().from_string("{% url 'home' %}")
    assert isinstance(template.nodelist[0], cached_urls.CachedURLNode)


@pytest.mark.parametrize(
    "source, context, expected",
    [
        ("{% url 'home' %}", {}, reverse("home")),
        ("{% url 'grid' label code %}", {"label": "2027-01", "code": "A&B"}, None),
        ("{% url 'grid' month='2027-01' vs_code=code %}", {"code": "VS1"}, None),
        (
            "{% url 'cycle_detail' label %}",
            {"label": "2027-02"},
            reverse("cycle_detail", args=["2027-02"]),
        ),
    ],
)
def test_answers_are_djangos(source, context, expected):
    if expected is None:
        # The same source through Django's own tag.
        plain = Engine(builtins=[]).from_string(source).render(Context(context))
        expected = plain
    first = _render(source, **context)
    second = _render(source, **context)  # from memory
    assert first == second == expected
    assert cached_urls._reverse_kept.cache_info().hits >= 1


def test_escaping_and_as_var_are_djangos():
    src = "{% url 'grid' label code as link %}[{{ link }}]"
    ctx = {"label": "2027-01", "code": "<x>"}
    assert _render(src, **ctx) == Engine(builtins=[]).from_string(src).render(Context(ctx))
    # A name that does not reverse: an error, or nothing with "as".
    with pytest.raises(NoReverseMatch):
        _render("{% url 'no-such-name' %}")
    assert _render("{% url 'no-such-name' as x %}[{{ x }}]") == "[]"
    assert _render("{% url 'no-such-name' as x %}[{{ x }}]") == "[]"


def test_the_script_prefix_and_argument_types_key_the_answer():
    assert _render("{% url 'home' %}") == "/"
    set_script_prefix("/sofp/")
    assert _render("{% url 'home' %}") == "/sofp/"
    set_script_prefix("/")
    assert _render("{% url 'home' %}") == "/"
    # 1 and True hash alike; their text differs ("1", "True"), so the key keeps types.
    args = ["2027-01", 1]
    one = cached_urls.cached_reverse("grid", args, {}, None)
    assert one == reverse("grid", args=args) == "/cycles/2027-01/grid/1/"
    truth = cached_urls.cached_reverse("grid", ["2027-01", True], {}, None)
    assert truth == reverse("grid", args=["2027-01", True]) == "/cycles/2027-01/grid/True/"


def test_other_values_are_reversed_every_time(monkeypatch):
    class Label(str):
        pass

    before = cached_urls._reverse_kept.cache_info().currsize
    url = Template("{% url 'cycle_detail' label %}").render(Context({"label": Label("2027-03")}))
    assert url == reverse("cycle_detail", args=["2027-03"])
    assert cached_urls._reverse_kept.cache_info().currsize == before
