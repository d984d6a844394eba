"""Field types the canonical events' ``detail`` models share (security problems and attacks)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _id_text(value: object) -> object:
    # The platform's ids are numeric strings; some exports carry them as JSON numbers.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


IdText = Annotated[str, BeforeValidator(_id_text)]
Score = Annotated[float, Field(strict=True, ge=0.0, le=10.0, allow_inf_nan=False)]
StrictBool = Annotated[bool, Field(strict=True)]
Timestamp = Annotated[int, Field(strict=True)]


class Lenient(BaseModel):
    # Unknown fields are ignored: the platform adds fields over time.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Zone(Lenient):
    id: IdText = ""
    name: str = ""


# "<id>:<timestamp ms>:<reason>" as the poller writes it; printable ASCII, so that the key is the
# same bytes wherever it is compared, and bounded.
DedupKey = Annotated[str, Field(strict=True, min_length=1, max_length=512, pattern=r"^[\x20-\x7e]+$")]
