"""Signals the engine sends; it never listens to them itself except to log.

``upload_state_changed(upload, source, target)`` is sent after every transition, ``target`` being
the new state (``source`` is None for a new upload).

``upload_stage_entered(upload, stage)`` is sent by the worker as it starts each stage of its work
on an upload (completing, just before CompleteMultipartUpload; verifying; processing), in the
worker's process.
"""

from django.dispatch import Signal

upload_state_changed = Signal()
upload_stage_entered = Signal()
