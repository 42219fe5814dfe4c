"""The rules every client shares, served once: purposes and their limits, states, stage words,
the part calls' limits."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from uploads.api import services
from uploads.api.base import UploadApiView, errors
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


class RulesOutput(serializers.Serializer):
    purposes = PurposeOutput(many=True)
    states = serializers.ListField(child=serializers.ChoiceField(choices=UploadState.choices))
    final_states = serializers.ListField(child=serializers.ChoiceField(choices=UploadState.choices))
    stages = serializers.DictField(child=serializers.CharField(), help_text="Words for each stage.")
    max_parts = serializers.IntegerField(help_text="S3's limit of parts per upload.")
    max_parts_per_signing = serializers.IntegerField(help_text="Parts per call to parts/.")


class PurposesApi(UploadApiView):
    """``GET``: the rules a client needs before and during an upload, served once from here:
    each purpose's limits and words for each stage, the states (and which are final), and the
    limits of the part calls."""

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
            }
        )
