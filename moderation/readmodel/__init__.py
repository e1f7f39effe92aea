"""The read model: what each screen sees of a talk, and how changes reach it.

Used by both `web/` (pages rendered from the same snapshot) and `live/` (Socket.IO); neither
of those imports the other. `views.VIEWS` is the one table of who sees what.
"""
