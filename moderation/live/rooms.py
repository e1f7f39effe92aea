def moderators(talk_id: int) -> str:
    return f"talk:{talk_id}:moderators"


def audience(talk_id: int) -> str:
    return f"talk:{talk_id}:audience"


def podium(talk_id: int) -> str:
    return f"talk:{talk_id}:podium"


def client(talk_id: int, client_hash: str) -> str:
    return f"talk:{talk_id}:client:{client_hash}"


def user(user_id: int) -> str:
    return f"user:{user_id}"
