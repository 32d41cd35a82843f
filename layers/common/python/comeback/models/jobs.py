"""A message job: what a sweep claimed and the sender is to deliver."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class MessageJob(BaseModel):
    model_config = ConfigDict(frozen=True)

    shop_id: str
    profile_id: str
    kind: str
    subject: str
    job_key: str
    claimed_at: datetime
