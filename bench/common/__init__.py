"""Pieces the benchmarks share: a throwaway cluster, a loaded city, uvicorn servers, a load runner.

- ``bench.common.cluster``: ``free_port``, ``BenchDB`` and ``throwaway_cluster``;
- ``bench.common.city``: ``CityDB`` and ``city_db`` (a city loaded by our loaders, 3857 copies built);
- ``bench.common.servers``: ``uvicorn_server`` and ``tipg_env``;
- ``bench.common.runner``: ``Result``, ``run``, ``http_jobs`` and ``thread_connection``.
"""
