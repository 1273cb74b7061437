"""GetKeyLastUsage: the last successful cryptographic operation with a key.

Every cryptographic operation that succeeds records itself on the key it used (ReEncrypt on
both of its keys), per key and Region: the keys of a multi-Region key keep their own
records, as KMS's do. Requests refused, failed verifications and DryRun requests record
nothing. The local KMS tracks every key from its creation, so ``TrackingStartDate`` is the
key's creation date; ``CloudTrailEventId`` is a fresh UUID per use (there is no CloudTrail
here) and ``KmsRequestId`` is not reported. See
https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyLastUsage.html.
"""

from __future__ import annotations

from kms_mrk.local._handlers._common import as_datetime
from kms_mrk.local._handlers._context import Ctx
from kms_mrk.local._handlers._registry import handler
from kms_mrk.models._enums import KeyLastUsageTrackingOperation
from kms_mrk.models._op_get_key_last_usage import (
    GetKeyLastUsageCommand,
    GetKeyLastUsageRequest,
    GetKeyLastUsageResponse,
    KeyLastUsageData,
)


@handler(GetKeyLastUsageCommand)
def get_key_last_usage(ctx: Ctx, request: GetKeyLastUsageRequest) -> GetKeyLastUsageResponse:
    key = ctx.use(request.key_id, alias=False)
    used = key.last_used
    return GetKeyLastUsageResponse(
        key_id=key.arn,
        key_last_usage=(
            None
            if used is None
            else KeyLastUsageData(
                operation=KeyLastUsageTrackingOperation(used[0]),
                timestamp=as_datetime(used[1]),
                cloud_trail_event_id=used[2],
            )
        ),
        tracking_start_date=key.created_at(),
        key_creation_date=key.created_at(),
    )
