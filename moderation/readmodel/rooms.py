"""Rooms beyond a view's own (`View.room`): one audience client, one staff account."""


def client(talk_id: int, client_hash: str) -> str:
    return f"talk:{talk_id}:client:{client_hash}"


def user(user_id: int) -> str:
    return f"user:{user_id}"
