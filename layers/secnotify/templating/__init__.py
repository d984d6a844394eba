"""Payload templates: placeholders, content-type aware escaping, and sandboxed Jinja2."""

from secnotify.templating.engine import (
    TEMPLATES,
    CompiledTemplate,
    TemplateCache,
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
    "TEMPLATES",
    "CompiledTemplate",
    "PlaceholderInfo",
    "RenderLimits",
    "TemplateCache",
    "TemplateError",
    "compile_template",
    "is_json_content_type",
    "is_xml_content_type",
    "render_preview",
    "validate_template",
]
