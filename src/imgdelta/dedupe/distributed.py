"""Hashing and neighbour search on a Dask cluster (the optional ``dask`` extra).

The cluster runs the same functions as a local run (:func:`~.collection.hash_chunk` on
chunks of files, :func:`~.search.run_task` on blocks of the search), so the results are the
same; this process keeps the index and verifies the candidates. Every worker must see the
files under the same absolute paths (a shared or network filesystem) and have imgdelta
installed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import OptionError
from .collection import FileHash, hash_chunk
from .search import run_task

__all__ = ["INSTALL_HINT", "connect", "hash_on_cluster", "search_runner"]

INSTALL_HINT = "pip install 'imgdelta[dask]'"


def connect(scheduler: Any) -> tuple[Any, bool]:
    """(a ``dask.distributed.Client``, whether this call opened it and must close it).

    ``scheduler`` is a scheduler address (``tcp://host:8786``) or a Client already open.

    Raises
    ------
    OptionError
        Dask's distributed scheduler is not installed, or the scheduler does not answer.
    """
    try:
        from dask.distributed import Client
    except ImportError:
        raise OptionError(f"--dask needs Dask's distributed scheduler: {INSTALL_HINT}") from None
    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(scheduler, timeout="20s", set_as_default=False), True
    except (OSError, TimeoutError, ValueError) as exc:
        raise OptionError(f"--dask {scheduler}: cannot reach the scheduler ({exc})") from None


def hash_on_cluster(client: Any, chunks: Sequence[Sequence[str]], max_pixels: int | None) -> Iterator[tuple[Sequence[str], list[FileHash]]]:
    """``(chunk, hash_chunk(chunk))`` for every chunk of absolute paths, as workers finish them.

    A chunk whose worker died (Dask retries it on others first) gives each of its files an
    error rather than ending the run.
    """
    from dask.distributed import as_completed
    from distributed import KilledWorker

    futures = {client.submit(hash_chunk, list(chunk), max_pixels, pure=False): chunk for chunk in chunks}
    for future in as_completed(futures, loop=client.loop):
        chunk = futures[future]
        try:
            results = future.result()
        except KilledWorker:
            results = [FileHash(location, error="the Dask worker hashing it died") for location in chunk]
        except (ImportError, AttributeError) as exc:
            raise OptionError(f"the Dask workers cannot run imgdelta ({exc}): install it on every worker") from None
        yield chunk, results


def search_runner(client: Any):
    """A runner for :func:`~.search.near_pairs` that sends every task to the cluster."""

    def run(tasks, queries, query_owners, words, owners, radius, skip_same_owner) -> list:
        shared = client.scatter([queries, query_owners, words, owners], broadcast=True)
        futures = [client.submit(run_task, task, *shared, radius, skip_same_owner=skip_same_owner, pure=False) for task in tasks]
        return client.gather(futures)

    return run
