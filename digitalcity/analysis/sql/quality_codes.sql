-- The distinct codes of _coded(fid, geom, label, code), as text.
SELECT DISTINCT code::text AS code
FROM _coded
WHERE code IS NOT NULL AND btrim(code::text) <> ''
