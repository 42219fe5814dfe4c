"""The analytics page's registry: which sections it shows, and finding a figure by its slug.

The engine makes the uploads section; a project adds its own with ``add_section`` (the site
adds downloads), since the engine knows nothing of what is uploaded for. A project builds its
figures from the page's parts, which this module also offers (``Window``, ``Section``,
``Figure``, ``Series``, ``TOP``), so it needs no other import. Windows are whole UTC days.
"""

from __future__ import annotations

from collections.abc import Callable

from uploads.reports.page import MAX_WINDOW_DAYS, TOP, Figure, Section, Series, Window
from uploads.reports.upload_section import upload_section

__all__ = [
    "MAX_WINDOW_DAYS",
    "TOP",
    "Figure",
    "Section",
    "Series",
    "Window",
    "add_section",
    "find_figure",
    "sections",
    "upload_section",
]

SectionMaker = Callable[[Window], Section]
_added_sections: list[SectionMaker] = []


def add_section(maker: SectionMaker) -> None:
    """Show another section on the analytics page, after the uploads (once, however often a
    project's ``ready()`` runs)."""
    if maker not in _added_sections:
        _added_sections.append(maker)


def sections(window: Window) -> list[Section]:
    return [upload_section(window), *(maker(window) for maker in _added_sections)]


def find_figure(window: Window, slug: str) -> Figure | None:
    for section in sections(window):
        for figure in section.figures:
            if figure.slug == slug:
                return figure
    return None
