"""The rules every client shares, served once: purposes and their limits, states, stage words,
the part calls' limits, and when clients report, poll and retry."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from uploads.api import services
from uploads.api.base import UploadApiView, errors
from uploads.conf import settings
from uploads.core import purposes
from uploads.core.models import FINAL_STATES, UploadState
from uploads.core.plan import MAX_PARTS
from uploads.core.progress import UploadStage


class PurposeOutput(serializers.Serializer):
    name = serializers.CharField()
    max_size = serializers.IntegerField()
    extensions = serializers.ListField(child=serializers.CharField())
    content_types = serializers.ListField(child=serializers.CharField(), allow_null=True)
    description = serializers.CharField()
    stages = serializers.DictField(child=serializers.CharField(), help_text="Words for each stage.")


class TimingsOutput(serializers.Serializer):
    progress_report_interval = serializers.FloatField(
        help_text="Seconds: a client reports the bytes it has sent (progress/) at most this often."
    )
    status_poll_delays = serializers.ListField(
        child=serializers.FloatField(),
        help_text="Seconds: after completion a client asks for the upload's progress after each "
        "of these delays in turn, the last one repeated, until the state is final.",
    )
    outage_recheck_delays = serializers.ListField(
        child=serializers.FloatField(),
        help_text="Seconds: while its connection is down a client asks this site again after "
        "each of these delays in turn, the last one repeated, and then sends again what failed.",
    )
    expiry_margin = serializers.FloatField(
        help_text="Seconds: a client neither starts a part on a signed URL nor resumes an upload "
        "that expires within this margin.",
    )


class RulesOutput(serializers.Serializer):
    purposes = PurposeOutput(many=True)
    states = serializers.ListField(child=serializers.ChoiceField(choices=UploadState.choices))
    final_states = serializers.ListField(child=serializers.ChoiceField(choices=UploadState.choices))
    stages = serializers.DictField(child=serializers.CharField(), help_text="Words for each stage.")
    max_parts = serializers.IntegerField(help_text="S3's limit of parts per upload.")
    max_parts_per_signing = serializers.IntegerField(help_text="Parts per call to parts/.")
    timings = TimingsOutput(help_text="When clients report, poll and retry, the same for all.")


class PurposesApi(UploadApiView):
    """``GET``: the rules a client needs before and during an upload, served once from here:
    each purpose's limits and words for each stage, the states (and which are final), and the
    limits of the part calls, and the clients' timings."""

    @extend_schema(responses={200: RulesOutput, **errors()})
    def get(self, request):
        stage_labels = dict(UploadStage.choices)
        return Response(
            {
                "purposes": [
                    purpose.as_limits(stage_labels) for purpose in purposes.all_purposes()
                ],
                "states": UploadState.values,
                "final_states": list(FINAL_STATES),
                "stages": stage_labels,
                "max_parts": MAX_PARTS,
                "max_parts_per_signing": services.MAX_PARTS_PER_SIGNING,
                "timings": {
                    "progress_report_interval": settings.UPLOADS_PROGRESS_REPORT_INTERVAL,
                    "status_poll_delays": settings.UPLOADS_STATUS_POLL_DELAYS,
                    "outage_recheck_delays": settings.UPLOADS_OUTAGE_RECHECK_DELAYS,
                    "expiry_margin": settings.UPLOADS_EXPIRY_MARGIN,
                },
            }
        )
