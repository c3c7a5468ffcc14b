-- PDC: player daily cache. One row per player who played on game day d: his minutes, usage and
-- scoring that day, and his team's rest before the game (days since its previous game, games in the
-- week before). Declared: boxscores same (that day's box scores), schedule { lookback: 7d }.
WITH team_games AS (   -- one row per team per scheduled game, d-7..d
  SELECT game_date, home_team AS team FROM {{ ref('schedule') }}
  WHERE game_date BETWEEN {{ start_date }} - INTERVAL 7 DAY AND {{ end_date }}
  UNION ALL
  SELECT game_date, away_team AS team FROM {{ ref('schedule') }}
  WHERE game_date BETWEEN {{ start_date }} - INTERVAL 7 DAY AND {{ end_date }}
),
rest AS (
  SELECT
    today.game_date, today.team,
    date_diff('day', max(before.game_date), today.game_date) AS rest_days,
    count(before.game_date) AS games_prev_7d
  FROM team_games today
  LEFT JOIN team_games before
    ON before.team = today.team
   AND before.game_date >= today.game_date - INTERVAL 7 DAY
   AND before.game_date < today.game_date
  WHERE today.game_date BETWEEN {{ start_date }} AND {{ end_date }}
  GROUP BY today.game_date, today.team
)
SELECT
  b.game_date,
  b.player_id,
  b.player_name,
  b.team,
  b.opponent,
  b.minutes,
  b.usage_pct,
  b.points,
  b.fga,
  r.rest_days,                                  -- NULL: no game in the previous 7 days
  coalesce(r.games_prev_7d, 0) AS games_prev_7d,
  coalesce(r.rest_days = 1, false) AS back_to_back
FROM {{ ref('boxscores') }} b
LEFT JOIN rest r ON r.game_date = b.game_date AND r.team = b.team
WHERE b.game_date BETWEEN {{ start_date }} AND {{ end_date }}
