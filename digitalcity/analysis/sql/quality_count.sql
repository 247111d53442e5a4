-- The features of _features checked: all of them.
SELECT count(*) AS features FROM _features
