"""The needs survey's pages (one module per audience)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
