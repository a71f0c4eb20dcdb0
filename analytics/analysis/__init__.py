"""The analyses (top-20% features, best times, leaderboards, editor effort, learning lift) and the
statistics they share. Pure reads: analytics/services.py stores their results."""
