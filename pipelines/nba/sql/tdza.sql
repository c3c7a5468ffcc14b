-- TDZA: team defense by shot zone. For each game day d and each team that played in the 15 days
-- up to d, how well opponents shot against it, zone by zone, over its last (at most 7) games.
-- Reads box scores d-15..d (declared: boxscores { lookback: 15d, min: 7 }) and the schedule of d
-- (schedule: same, to know the game days even when their box scores are missing); emits rows dated d only.
WITH days AS (
  SELECT DISTINCT game_date AS day      -- the batch's game days (even one whose box scores are missing)
  FROM {{ ref('schedule') }}
  WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }}
),
allowed AS (   -- one row per team (the defense) per game: what its opponent shot
  SELECT
    opponent AS team, game_id, game_date,
    sum(ra_att) AS ra_att, sum(ra_made) AS ra_made,
    sum(paint_att) AS paint_att, sum(paint_made) AS paint_made,
    sum(mid_att) AS mid_att, sum(mid_made) AS mid_made,
    sum(corner3_att) AS corner3_att, sum(corner3_made) AS corner3_made,
    sum(ab3_att) AS ab3_att, sum(ab3_made) AS ab3_made
  FROM {{ ref('boxscores') }}
  WHERE game_date BETWEEN {{ start_date }} - INTERVAL 15 DAY AND {{ end_date }}
  GROUP BY ALL
),
recent AS (    -- each day's window: the team's games in d-15..d, newest first
  SELECT d.day, a.*,
         row_number() OVER (PARTITION BY d.day, a.team ORDER BY a.game_date DESC, a.game_id DESC) AS recency
  FROM days d
  JOIN allowed a ON a.game_date BETWEEN d.day - INTERVAL 15 DAY AND d.day
)
SELECT
  day AS game_date,
  team,
  count(*) AS games,
  round(sum(ra_made) / nullif(sum(ra_att), 0), 4) AS ra_fg_allowed,
  round(sum(paint_made) / nullif(sum(paint_att), 0), 4) AS paint_fg_allowed,
  round(sum(mid_made) / nullif(sum(mid_att), 0), 4) AS mid_fg_allowed,
  round(sum(corner3_made) / nullif(sum(corner3_att), 0), 4) AS corner3_fg_allowed,
  round(sum(ab3_made) / nullif(sum(ab3_att), 0), 4) AS ab3_fg_allowed,
  round((2 * (sum(ra_made) + sum(paint_made) + sum(mid_made)) + 3 * (sum(corner3_made) + sum(ab3_made)))
        / count(*), 1) AS field_goal_points_allowed_per_game
FROM recent
WHERE recency <= 7
GROUP BY day, team
