-- PSZA: player shot-zone analysis. For each game day d (written to analysis_date) and each player
-- who played in the window, the share of his shots from each zone and his accuracy there, over his
-- last 10 games. Declared: boxscores { lookback: 14, min: 10 } (game days d-14..d, at least 10
-- present, so a missing scrape day inside the window is tolerated); it reads game dates d-14 days..d,
-- which always lie inside those 15 game days. The schedule of d (schedule: same) names the game days.
WITH days AS (
  SELECT DISTINCT game_date AS day      -- the batch's game days (even one whose box scores are missing)
  FROM {{ ref('schedule') }}
  WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }}
),
recent AS (
  SELECT d.day, b.*,
         row_number() OVER (PARTITION BY d.day, b.player_id ORDER BY b.game_date DESC) AS recency
  FROM days d
  JOIN {{ ref('boxscores') }} b ON b.game_date BETWEEN d.day - INTERVAL 14 DAY AND d.day
),
totals AS (
  SELECT
    day, player_id, any_value(player_name) AS player_name, count(*) AS games,
    sum(ra_att) AS ra_att, sum(ra_made) AS ra_made, sum(paint_att) AS paint_att, sum(paint_made) AS paint_made,
    sum(mid_att) AS mid_att, sum(mid_made) AS mid_made, sum(corner3_att) AS corner3_att,
    sum(corner3_made) AS corner3_made, sum(ab3_att) AS ab3_att, sum(ab3_made) AS ab3_made,
    sum(ra_att + paint_att + mid_att + corner3_att + ab3_att) AS fga
  FROM recent
  WHERE recency <= 10
  GROUP BY day, player_id
)
SELECT
  day AS analysis_date,
  player_id,
  player_name,
  games,
  fga,
  round(ra_att / nullif(fga, 0), 4) AS ra_rate,
  round(paint_att / nullif(fga, 0), 4) AS paint_rate,
  round(mid_att / nullif(fga, 0), 4) AS mid_rate,
  round(corner3_att / nullif(fga, 0), 4) AS corner3_rate,
  round(ab3_att / nullif(fga, 0), 4) AS ab3_rate,
  round(ra_made / nullif(ra_att, 0), 4) AS ra_fg,
  round(paint_made / nullif(paint_att, 0), 4) AS paint_fg,
  round(mid_made / nullif(mid_att, 0), 4) AS mid_fg,
  round(corner3_made / nullif(corner3_att, 0), 4) AS corner3_fg,
  round(ab3_made / nullif(ab3_att, 0), 4) AS ab3_fg
FROM totals
