"""The read model: what each screen sees of a talk, and how changes reach it.

Used by `web/` (pages rendered from the same snapshot), `live/` (Socket.IO) and `workers/`
(background loops); none of those imports `web/` or `live/`. `views.VIEWS` is the one table of
who sees what; `publish` tells each view what a write changed of it; `access.end_sessions` is the
one way open screens lose access.
"""
