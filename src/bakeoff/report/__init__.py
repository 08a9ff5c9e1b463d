"""Reports: leaderboards with uncertainty and significance, from what the store recorded."""

from bakeoff.report.leaderboard import Leaderboard, Ranking, Row, build

__all__ = ["Leaderboard", "Ranking", "Row", "build"]
