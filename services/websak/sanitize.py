"""HTML of a mail body made safe to render for the archive.

Scripts, forms, frames, stylesheets and event handlers are removed (nh3/ammonia allow-list); an
image keeps a source only when it is embedded in the mail (`cid:`) or in the page (`data:`), and
then the one the caller's `images` gives it (the image plan, `images.py`, which may leave it out).
Links keep their address as text for the record, and the renderer never follows them. This is one
of two locks: the renderer's URL fetcher refuses every resource the plan did not admit as well.
"""

from __future__ import annotations

from collections.abc import Callable

import nh3

_EMBEDDED_SCHEMES = ("cid:", "data:")

_TAGS = set(nh3.ALLOWED_TAGS) | {"font", "tfoot"}
_ATTRIBUTES = {
    **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"style", "dir", "lang", "title"},
    "font": {"color", "face", "size"},
    "table": {"align", "border", "cellpadding", "cellspacing", "width", "bgcolor"},
    "td": {"align", "valign", "colspan", "rowspan", "width", "bgcolor"},
    "th": {"align", "valign", "colspan", "rowspan", "width", "bgcolor"},
}
# Inline styles are kept for layout and emphasis only: no property that takes a URL survives.
_STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font-weight",
    "font-style",
    "font-size",
    "text-decoration",
    "text-align",
    "vertical-align",
    "margin",
    "margin-left",
    "margin-right",
    "margin-top",
    "margin-bottom",
    "padding",
    "padding-left",
    "padding-right",
    "border",
    "border-collapse",
    "width",
    "white-space",
}
# Removed with their content: what they hold is code, or form state, not the letter.
_DROP_WITH_CONTENT = {"script", "style", "textarea", "select", "button", "title", "head"}


ImageSource = Callable[[str], str | None]


def sanitize_html(html: str, images: ImageSource) -> str:
    """The safe HTML; `images` maps each embedded image source, in document order, to the source
    the page uses for it, or to None to leave the image out."""

    def keep_attribute(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            source = value.strip()
            return images(source) if source.lower().startswith(_EMBEDDED_SCHEMES) else None
        return value

    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        attribute_filter=keep_attribute,
        url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
        filter_style_properties=_STYLE_PROPERTIES,
        strip_comments=True,
    )
