"""Payload templates: placeholders, content-type aware escaping, and sandboxed Jinja2."""

from secnotify.templating.engine import (
    CompiledTemplate,
    compile_template,
    render_preview,
    validate_template,
)
from secnotify.templating.errors import TemplateError
from secnotify.templating.escaping import is_json_content_type, is_xml_content_type
from secnotify.templating.limits import RenderLimits
from secnotify.templating.placeholders import PLACEHOLDERS, PlaceholderInfo

__all__ = [
    "PLACEHOLDERS",
    "CompiledTemplate",
    "PlaceholderInfo",
    "RenderLimits",
    "TemplateError",
    "compile_template",
    "is_json_content_type",
    "is_xml_content_type",
    "render_preview",
    "validate_template",
]
