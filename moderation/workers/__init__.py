"""The server's background work, each piece a loop of `loop.Loop`: the group writer (group.py),
the vote batcher (votes.py) and the similar-question worker (similar.py); live/ also runs the
session sweep and the idle-session sweep through it. Each starts with the first work it is given,
as a background task of the server's async mode, and outlives any one failed round."""
