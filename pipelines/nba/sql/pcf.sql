-- PCF: player composite factors for each player in the player daily cache on game day d:
--   fatigue   from rest days and games in the previous week (PDC),
--   matchup   the player's shot mix (PSZA) weighted by how the opponent defends each zone (TDZA),
--   usage     how much of the offense runs through him (PDC).
-- Declared: [TDZA, PSZA, PDC], the same partition of each.
SELECT
  c.game_date,
  c.player_id,
  c.player_name,
  c.team,
  c.opponent,
  round(CASE
          WHEN c.back_to_back THEN 0.85
          WHEN c.rest_days IS NULL OR c.rest_days >= 3 THEN 1.05
          ELSE 1.0
        END - 0.02 * greatest(c.games_prev_7d - 3, 0), 4) AS fatigue_factor,
  round(2 * (coalesce(s.ra_rate * d.ra_fg_allowed, 0) + coalesce(s.paint_rate * d.paint_fg_allowed, 0)
             + coalesce(s.mid_rate * d.mid_fg_allowed, 0))
        + 3 * (coalesce(s.corner3_rate * d.corner3_fg_allowed, 0) + coalesce(s.ab3_rate * d.ab3_fg_allowed, 0)),
        4) AS matchup_points_per_shot,        -- his shot mix at the opponent's allowed accuracy
  round(c.usage_pct / 20.0, 4) AS usage_factor,
  s.games AS shot_profile_games,
  d.games AS opponent_defense_games
FROM {{ ref('PDC') }} c
JOIN {{ ref('PSZA') }} s ON s.player_id = c.player_id AND s.analysis_date = c.game_date
LEFT JOIN {{ ref('TDZA') }} d ON d.team = c.opponent AND d.game_date = c.game_date
WHERE c.game_date BETWEEN {{ start_date }} AND {{ end_date }}
