-- MLFS: the ML feature vector per player and game date, from the composite factors (PCF), the daily
-- cache (PDC), the opponent's zone defense (TDZA) and the change in the player's shot profile since
-- the previous game day (PSZA { offset: -1 }: the PSZA partition of the game day before d).
WITH psza_days AS (
  SELECT DISTINCT analysis_date FROM {{ ref('PSZA') }}
  WHERE analysis_date BETWEEN {{ start_date }} - INTERVAL 10 DAY AND {{ end_date }} - INTERVAL 1 DAY
),
previous_day AS (      -- d -> the game day before d
  SELECT f.game_date, max(p.analysis_date) AS prev_date
  FROM (SELECT DISTINCT game_date FROM {{ ref('PCF') }}
        WHERE game_date BETWEEN {{ start_date }} AND {{ end_date }}) f
  JOIN psza_days p ON p.analysis_date < f.game_date
  GROUP BY f.game_date
)
SELECT
  f.game_date,
  f.player_id,
  f.player_name,
  f.team,
  f.opponent,
  c.minutes,
  c.usage_pct,
  c.rest_days,
  c.back_to_back,
  f.fatigue_factor,
  f.matchup_points_per_shot,
  f.usage_factor,
  d.ra_fg_allowed AS opp_ra_fg_allowed,
  d.ab3_fg_allowed AS opp_ab3_fg_allowed,
  prev.ra_rate AS prev_ra_rate,
  prev.ab3_rate AS prev_ab3_rate,
  prev.games AS prev_shot_profile_games,
  c.points AS label_points
FROM {{ ref('PCF') }} f
JOIN {{ ref('PDC') }} c ON c.player_id = f.player_id AND c.game_date = f.game_date
LEFT JOIN {{ ref('TDZA') }} d ON d.team = f.opponent AND d.game_date = f.game_date
LEFT JOIN previous_day pd ON pd.game_date = f.game_date
LEFT JOIN {{ ref('PSZA') }} prev ON prev.player_id = f.player_id AND prev.analysis_date = pd.prev_date
WHERE f.game_date BETWEEN {{ start_date }} AND {{ end_date }}
