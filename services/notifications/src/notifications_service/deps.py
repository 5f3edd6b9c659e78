"""Dependencies of the notifications API: settings and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from notifications_service.config import NotificationsSettings


def get_settings(request: Request) -> NotificationsSettings:
    """The settings the app was built with."""
    return request.app.state.settings


Settings = Annotated[NotificationsSettings, Depends(get_settings)]
