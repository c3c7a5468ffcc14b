-- PSZA's shot-zone rates and accuracies are shares: each lies in 0..1 (NULL: no attempts there).
-- A check's SELECT returns the offending rows; {{ this }} is the batch's new rows, before commit.
SELECT analysis_date, player_id, ra_rate, paint_rate, mid_rate, corner3_rate, ab3_rate, ra_fg, paint_fg, mid_fg, corner3_fg, ab3_fg
FROM {{ this }}
WHERE NOT (coalesce(ra_rate, 0) BETWEEN 0 AND 1 AND coalesce(paint_rate, 0) BETWEEN 0 AND 1
       AND coalesce(mid_rate, 0) BETWEEN 0 AND 1 AND coalesce(corner3_rate, 0) BETWEEN 0 AND 1
       AND coalesce(ab3_rate, 0) BETWEEN 0 AND 1 AND coalesce(ra_fg, 0) BETWEEN 0 AND 1
       AND coalesce(paint_fg, 0) BETWEEN 0 AND 1 AND coalesce(mid_fg, 0) BETWEEN 0 AND 1
       AND coalesce(corner3_fg, 0) BETWEEN 0 AND 1 AND coalesce(ab3_fg, 0) BETWEEN 0 AND 1)
