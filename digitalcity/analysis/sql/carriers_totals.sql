-- Population of all carriers, and the part placed by the areal fallback (dasymetric only).
SELECT sum(pop) AS population,
       coalesce(sum(pop) FILTER (WHERE fallback), 0) AS fallback_population
FROM _carriers
