"""Tags: TagResource, UntagResource, ListResourceTags."""

from __future__ import annotations

from kms_mrk.local._handlers._common import checked_tags, page_limit, page_of
from kms_mrk.local._handlers._context import Ctx
from kms_mrk.local._handlers._registry import handler
from kms_mrk.models._op_list_resource_tags import (
    ListResourceTagsCommand,
    ListResourceTagsRequest,
    ListResourceTagsResponse,
)
from kms_mrk.models._op_tag_resource import (
    TagResourceCommand,
    TagResourceRequest,
    TagResourceResponse,
)
from kms_mrk.models._op_untag_resource import (
    UntagResourceCommand,
    UntagResourceRequest,
    UntagResourceResponse,
)
from kms_mrk.models._shared import Tag

# --------------------------------------------------------------------------- tags


@handler(TagResourceCommand, mutating=True)
def tag_resource(ctx: Ctx, request: TagResourceRequest) -> TagResourceResponse:
    key = ctx.use(request.key_id, alias=False)
    key.tags = checked_tags(key.tags, request.tags)
    ctx.store.changed()
    return TagResourceResponse()


@handler(UntagResourceCommand, mutating=True)
def untag_resource(ctx: Ctx, request: UntagResourceRequest) -> UntagResourceResponse:
    key = ctx.use(request.key_id, alias=False)
    for name in request.tag_keys:
        key.tags.pop(name, None)
    ctx.store.changed()
    return UntagResourceResponse()


@handler(ListResourceTagsCommand)
def list_resource_tags(ctx: Ctx, request: ListResourceTagsRequest) -> ListResourceTagsResponse:
    key = ctx.use(request.key_id, alias=False)
    tags = [Tag(tag_key=k, tag_value=v) for k, v in key.tags.items()]
    page, marker = page_of(
        tags, list(range(len(tags))), page_limit(request.limit, 50, 50), request.marker
    )
    return ListResourceTagsResponse(tags=page, next_marker=marker, truncated=marker is not None)
