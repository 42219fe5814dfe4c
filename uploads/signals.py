"""Signals other apps listen to; the engine never imports them.

``upload_state_changed(upload, source, target)`` is sent after every transition, ``target`` being
the new state (``source`` is None for a new upload). A project attaches what a ready upload means
to it (a version's file, a screenshot) by listening for ``target == "ready"``.
"""

from django.dispatch import Signal

upload_state_changed = Signal()
