"""Scale: SYNTHETIC cities made of translated copies of the real Cambridge parcels, side by
side (copy 0 in place), from ×1 (the real parcels) to millions of parcels.

``python -m bench.scale [--scales 1,10,100,300] [--osm-scales 1,10] [--samples 30]
[--dataset cambridge|osm|both] [--standbys]``

With ``--dataset osm`` (or ``both``, the default) the same run is made on the SYNTHETIC
OSM-like roads (``bench/scale/osm.py``): ×N translated copies of its 246,900 lines, with the
ingest, size, tile and page rows (identify and land use are the parcels').

For each size, on one throwaway cluster:
- ingest: our loader in a fresh process (wall time, peak RSS above the idle interpreter);
- database size of the parcels table and its tile copy;
- cold tile render p50/p95 per zoom z12–z16 (the same tiles over copy 0 and over the last copy);
- a 1,000-item bbox page (the API's page statement, streamed with psycopg) p95;
- identify (the parcel card at a point) p95;
- land-use statistics by neighbourhood (level-1 classes, the neighbourhoods copied alike).
Latencies are printed as ratios to ×1 (target ≤ 1.5×), analysis time per parcel against ×1
(target: at most linear). Tiles, pages and identify run on connections set up as the API's
(``api_parallel_workers``: no parallel workers by default); land use on the server's defaults,
as a notebook's would. With workers allowed, PostgreSQL planned a parallel bitmap scan for
the ×305 pages (its estimate of a bbox's rows drops as the table grows), and starting the
worker cost about 10 ms a page: 23-26 ms against 15-20 ms at ×1. The cluster gets a quarter
of the machine's RAM as shared_buffers (tuning guides' advice; the embedded default is
256 MiB): on a VM that pages out idle page cache (DAMON ``pageout``, no swap), what fell out
of 256 MiB came back from disk, and ×305 tiles moved between 1.0× and 2.2× of ×1 from run
to run.

``--standbys`` also measures the API (two uvicorn workers) over one and over two streaming
standbys of a primary holding the real city: item pages at c=8, and the ratio. All SYNTHETIC
data is labelled so; none of it is sample data.
"""
