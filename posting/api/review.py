from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from posting.api.publishing import PublicationSerializer
from posting.api.serializers import (
    ApproveSerializer,
    ErrorSerializer,
    PostSerializer,
    PostTextSerializer,
    PostWriteSerializer,
    ReasonSerializer,
    RegenerateAnswerSerializer,
    ScheduleSerializer,
    TopicAttachSerializer,
)
from posting.generation import regenerate
from posting.models import GenerationBatch, Post
from posting.publishing import outbox
from posting.publishing.selectors import posts_with_dry_run
from posting.review import services
from posting.review.filters import PostFilter

REVIEW = ["posting.review_post"]
PUBLISH = ["posting.publish_post"]


class PostViewSet(mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet[Post]):
    """Posts. Reads, text edits (PATCH, with the version check) and the review decisions."""

    queryset = posts_with_dry_run(
        Post.objects.select_related("kol", "stock", "approved_by", "persona_version")
    ).order_by("-created_at", "id")
    serializer_class = PostSerializer
    filterset_class = PostFilter
    ordering_fields = ["created_at", "updated_at", "scheduled_at", "published_at", "quality_score"]
    http_method_names = ["get", "head", "options", "patch", "post"]
    action_permissions = {
        "approve": REVIEW,
        "approve_edit": REVIEW,
        "topic": ["posting.change_post"],
        "reject": REVIEW,
        "request_changes": REVIEW,
        "schedule": REVIEW,
        "regenerate": REVIEW,
        "partial_update": ["posting.change_post"],
        "create": ["posting.add_post"],
        "submit": ["posting.change_post"],
        "publish": PUBLISH,
        "unpublish": PUBLISH,
    }

    def _input(self, serializer_class: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _answer(self, post: Post) -> Response:
        post = self.get_queryset().get(pk=post.pk)
        return Response(PostSerializer(post, context=self.get_serializer_context()).data)

    @extend_schema(request=PostWriteSerializer, responses={201: PostSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Write a post by hand for a KOL: saved as a draft and checked (201). Submit it for review next."""
        data = self._input(PostWriteSerializer, request)
        post = services.post_write(by=request.user, **data)
        response = self._answer(post)
        response.status_code = 201
        return response

    @extend_schema(request=None, responses=PostSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        """Send a draft, or a post that came back with requested changes, (back) to the review queue."""
        return self._answer(services.post_submit(post=self.get_object(), by=request.user))

    @extend_schema(request=PostTextSerializer, responses=PostSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._input(PostTextSerializer, request)
        result = services.post_update_text(
            post=self.get_object(), by=request.user, title=data["title"], body=data["body"],
            expected_version=data["version"],
        )  # fmt: skip
        return self._answer(result.post)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=ApproveSerializer, responses=PostSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        data = self._input(ApproveSerializer, request)
        post = services.post_approve(
            post=self.get_object(), by=request.user, expected_version=data.get("version"), note=data["note"]
        )
        return self._answer(post)

    @extend_schema(
        request=ApproveSerializer,
        responses={
            200: PostSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Invalid input (error.fields)."),
            403: OpenApiResponse(ErrorSerializer, description="Needs posting.review_post."),
            409: OpenApiResponse(
                ErrorSerializer,
                description="Refused; error.code says why: transition_not_allowed (not a published post with an "
                "edit waiting), edit_conflict (the text changed since the version you reviewed), "
                "self_approval, blocking_findings.",
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="approve-edit")
    def approve_edit(self, request: Request, pk: str | None = None) -> Response:
        """Approve the edit of a PUBLISHED post: the post stays published and the approved title and text
        are pushed to its article on the platform through the outbox (an ``update`` publication; tags
        cannot change)."""
        data = self._input(ApproveSerializer, request)
        post = services.post_approve_edit(
            post=self.get_object(), by=request.user, expected_version=data.get("version"), note=data["note"]
        )
        return self._answer(post)

    @extend_schema(
        request=TopicAttachSerializer,
        responses={
            200: PostSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Invalid input (error.fields)."),
            403: OpenApiResponse(ErrorSerializer, description="Needs posting.change_post."),
            409: OpenApiResponse(
                ErrorSerializer,
                description="transition_not_allowed: the post already went out (the platform cannot change "
                "its topic).",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def topic(self, request: Request, pk: str | None = None) -> Response:
        """Attach the post (typically one without a stock) to a CMoney community topic (sent as ``communityTopic`` when it
        is published), or remove it with an empty ``topic_id``. Only before publishing."""
        data = self._input(TopicAttachSerializer, request)
        post = services.post_attach_topic(
            post=self.get_object(),
            by=request.user,
            topic_id=data["topic_id"],
            topic_title=data["topic_title"],
        )
        return self._answer(post)

    @extend_schema(request=ReasonSerializer, responses=PostSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        data = self._input(ReasonSerializer, request)
        return self._answer(
            services.post_reject(post=self.get_object(), by=request.user, reason=data["reason"])
        )

    @extend_schema(request=ReasonSerializer, responses=PostSerializer)
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request: Request, pk: str | None = None) -> Response:
        data = self._input(ReasonSerializer, request)
        return self._answer(
            services.post_request_changes(post=self.get_object(), by=request.user, note=data["reason"])
        )

    @extend_schema(request=ScheduleSerializer, responses=PostSerializer)
    @action(detail=True, methods=["post"])
    def schedule(self, request: Request, pk: str | None = None) -> Response:
        data = self._input(ScheduleSerializer, request)
        return self._answer(services.post_schedule(post=self.get_object(), by=request.user, at=data["at"]))

    @extend_schema(
        request=None,
        responses={
            202: RegenerateAnswerSerializer,
            403: OpenApiResponse(ErrorSerializer, description="Needs posting.review_post."),
            409: OpenApiResponse(
                ErrorSerializer,
                description="Refused; error.code says why: transition_not_allowed, written_by_a_person, "
                "no_stock, kol_paused, stock_inactive, post_type_unknown, llm_not_configured, "
                "no_prompt_template.",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def regenerate(self, request: Request, pk: str | None = None) -> Response:
        """Write a fresh draft for the same KOL, stock, trigger, post type and length, by the same writer, in a
        new generation batch (202). The original is kept but leaves the queue (rejected); the new draft's
        ``regenerated_from`` names it. An LLM post is refused (409) when no LLM is configured."""
        post = self.get_object()
        batch = regenerate.post_regenerate(post=post, by=request.user, source=GenerationBatch.Source.API)
        body: dict[str, Any] = {
            "batch_id": batch.pk,
            "batch_url": f"/api/batches/{batch.pk}/",
            "events_url": f"/api/batches/{batch.pk}/events",
            "post": PostSerializer(
                self.get_queryset().get(pk=post.pk), context=self.get_serializer_context()
            ).data,
        }
        return Response(body, status=202, headers={"Location": body["batch_url"]})

    def _publication(self, publication: Any, code: int) -> Response:
        return Response(
            PublicationSerializer(publication, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(request=None, responses={202: PublicationSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        """Publish an approved or scheduled post now (as soon as its account's pace allows): 202."""
        publication = outbox.publication_publish_now(post=self.get_object(), by=request.user)
        return self._publication(publication, 202)

    @extend_schema(request=None, responses={200: PublicationSerializer})
    @action(detail=True, methods=["post"])
    def unpublish(self, request: Request, pk: str | None = None) -> Response:
        """Delete the post's article on the platform (our copy is kept). 502 when the platform refused."""
        publication = outbox.publication_unpublish(post=self.get_object(), by=request.user)
        return self._publication(publication, 200)
