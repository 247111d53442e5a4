"""A city's recent changes: ``python -m bench.feed [--edits 200] [--rounds 3]
[--dataset cambridge|osm|both]``.

On a throwaway cluster with the dataset loaded (its loads are change sets: Cambridge's 29
layers, the SYNTHETIC OSM-like set's 246,900 roads among them) and ``--edits`` edits made
through the editing service (Cambridge's parcels, the OSM-like roads; each a change set with
a reason), the whole feed walked page by page (``/cities/<city>/changes?limit=20&features=20``,
then ``before=``) through the API:

- cold: in a server process that has not read the feed yet (each change set compared from the
  history once);
- warm: the same walk again (what a committed change set did is kept);

against the SQL floor: the same statements through psycopg (the page's change sets, then one
statement per change set, the feed's own), one walk. Also the Atom feed, warm. Prints seconds
per walk, pages per second and the ratios.
"""
