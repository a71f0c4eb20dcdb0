from django.urls import path

from analytics.api.analysis_views import (
    BestTimesView,
    EditorEffortView,
    LeaderboardView,
    LearningLiftView,
    PersonaLeaderboardView,
    TopFeaturesView,
)
from analytics.api.views import (
    InteractionBatchView,
    InteractionPushView,
    InteractionStatsView,
    PostInteractionsRefreshView,
    PostInteractionsView,
)

urlpatterns = [
    path("posts/<uuid:post_id>/interactions/", PostInteractionsView.as_view(), name="post-interactions"),
    path(
        "posts/<uuid:post_id>/interactions/refresh/",
        PostInteractionsRefreshView.as_view(),
        name="post-interactions-refresh",
    ),
    path("interactions/batch/", InteractionBatchView.as_view(), name="interactions-batch"),
    path("interactions/stats/", InteractionStatsView.as_view(), name="interactions-stats"),
    path("interactions/push", InteractionPushView.as_view(), name="interactions-push"),
    path("analytics/top-features/", TopFeaturesView.as_view(), name="analytics-top-features"),
    path("analytics/best-times/", BestTimesView.as_view(), name="analytics-best-times"),
    path("analytics/leaderboard/", LeaderboardView.as_view(), name="analytics-leaderboard"),
    path(
        "analytics/persona-leaderboard/",
        PersonaLeaderboardView.as_view(),
        name="analytics-persona-leaderboard",
    ),
    path("analytics/editor-effort/", EditorEffortView.as_view(), name="analytics-editor-effort"),
    path("analytics/learning-lift/", LearningLiftView.as_view(), name="analytics-learning-lift"),
]
