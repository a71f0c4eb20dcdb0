from django.urls import path

from analytics.api.views import (
    BestTimesView,
    EditorEffortView,
    LeaderboardView,
    LearningLiftView,
    PersonaLeaderboardView,
    TopFeaturesView,
)

urlpatterns = [
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
