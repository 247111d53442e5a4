-- Size of the graph in _edges / _vertices and its number of connected components.
SELECT (SELECT count(*) FROM _edges) AS edges,
       (SELECT count(*) FROM _vertices) AS vertices,
       (SELECT count(DISTINCT component)
          FROM pgr_connectedComponents('SELECT id, source, target, cost, cost AS reverse_cost FROM _edges')
       ) AS components,
       (SELECT sum(cost) FROM _edges) AS length_m
