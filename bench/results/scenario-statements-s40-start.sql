-- latencyByModel readSettings
SELECT set_config('statement_timeout', '30000', true), set_config('enable_parallel_append', 'off', true) /* readSettings */;

-- latencyByModel sumTraceStats

      SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
             count(*)::float8 AS n,
           count(*) FILTER (WHERE status_code >= 400)::float8 AS errors,
           coalesce(sum(duration_ms), 0) AS dur_sum,
           min(duration_ms) AS dur_min,
           max(duration_ms) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
        FROM traces
       WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-12-06T02:57:40.000Z'::timestamptz AND traces.ts < '2026-12-06T02:58:00.000Z'::timestamptz)
       GROUP BY 1, 2, 3, 4 UNION ALL 
    SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           coalesce(sum(duration_sum), 0) AS dur_sum,
           min(duration_min) AS dur_min,
           max(duration_max) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
      FROM "traces_1min"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-12-06T02:58:00.000Z'::timestamptz AND bucket < '2026-12-06T03:00:00.000Z'::timestamptz)
     GROUP BY 1, 2, 3, 4 UNION ALL 
    SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           coalesce(sum(duration_sum), 0) AS dur_sum,
           min(duration_min) AS dur_min,
           max(duration_max) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
      FROM "traces_1hour"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-12-06T03:00:00.000Z'::timestamptz AND bucket < '2026-12-07T01:00:00.000Z'::timestamptz)
     GROUP BY 1, 2, 3, 4 UNION ALL 
    SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           coalesce(sum(duration_sum), 0) AS dur_sum,
           min(duration_min) AS dur_min,
           max(duration_max) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
      FROM "traces_1min"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-12-07T01:00:00.000Z'::timestamptz AND bucket < '2026-12-07T02:54:00.000Z'::timestamptz)
     GROUP BY 1, 2, 3, 4 UNION ALL 
      SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
             count(*)::float8 AS n,
           count(*) FILTER (WHERE status_code >= 400)::float8 AS errors,
           coalesce(sum(duration_ms), 0) AS dur_sum,
           min(duration_ms) AS dur_min,
           max(duration_ms) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
        FROM traces
       WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-12-07T02:54:00.000Z'::timestamptz AND traces.ts < '2026-12-07T02:57:40.000Z'::timestamptz)
       GROUP BY 1, 2, 3, 4 /* sumTraceStats:traces+traces_1min+traces_1hour+traces_1min+traces */;

-- latencyByModel countLatencyCells

    SELECT t, d0, d1, d2, by_time, by_group, string_agg(cell::text || ':' || c::text, ',' ORDER BY cell) AS cells
      FROM (SELECT NULL::timestamptz AS t, d0, d1, d2,
                   cell, sum(c)::bigint AS c,
                   1 AS by_time, GROUPING(d0, d1, d2)::int AS by_group
              FROM (SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
             width_bucket(ln(greatest(duration_ms, 1)), 0, ln(600000::float8), 100) AS cell,
             1::float8 AS c
        FROM traces WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-12-06T02:57:40.000Z'::timestamptz AND traces.ts < '2026-12-06T02:58:00.000Z'::timestamptz) UNION ALL SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
             width_bucket(ln(greatest(duration_ms, 1)), 0, ln(600000::float8), 100) AS cell,
             1::float8 AS c
        FROM traces WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-12-07T02:54:00.000Z'::timestamptz AND traces.ts < '2026-12-07T02:57:40.000Z'::timestamptz) UNION ALL SELECT g.t, g.d0, g.d1, g.d2, (u.i - 1)::int AS cell, u.c::float8 AS c
        FROM (SELECT t, d0, d1, d2, ARRAY[sum(latency_hist[1]), sum(latency_hist[2]), sum(latency_hist[3]), sum(latency_hist[4]), sum(latency_hist[5]), sum(latency_hist[6]), sum(latency_hist[7]), sum(latency_hist[8]), sum(latency_hist[9]), sum(latency_hist[10]), sum(latency_hist[11]), sum(latency_hist[12]), sum(latency_hist[13]), sum(latency_hist[14]), sum(latency_hist[15]), sum(latency_hist[16]), sum(latency_hist[17]), sum(latency_hist[18]), sum(latency_hist[19]), sum(latency_hist[20]), sum(latency_hist[21]), sum(latency_hist[22]), sum(latency_hist[23]), sum(latency_hist[24]), sum(latency_hist[25]), sum(latency_hist[26]), sum(latency_hist[27]), sum(latency_hist[28]), sum(latency_hist[29]), sum(latency_hist[30]), sum(latency_hist[31]), sum(latency_hist[32]), sum(latency_hist[33]), sum(latency_hist[34]), sum(latency_hist[35]), sum(latency_hist[36]), sum(latency_hist[37]), sum(latency_hist[38]), sum(latency_hist[39]), sum(latency_hist[40]), sum(latency_hist[41]), sum(latency_hist[42]), sum(latency_hist[43]), sum(latency_hist[44]), sum(latency_hist[45]), sum(latency_hist[46]), sum(latency_hist[47]), sum(latency_hist[48]), sum(latency_hist[49]), sum(latency_hist[50]), sum(latency_hist[51]), sum(latency_hist[52]), sum(latency_hist[53]), sum(latency_hist[54]), sum(latency_hist[55]), sum(latency_hist[56]), sum(latency_hist[57]), sum(latency_hist[58]), sum(latency_hist[59]), sum(latency_hist[60]), sum(latency_hist[61]), sum(latency_hist[62]), sum(latency_hist[63]), sum(latency_hist[64]), sum(latency_hist[65]), sum(latency_hist[66]), sum(latency_hist[67]), sum(latency_hist[68]), sum(latency_hist[69]), sum(latency_hist[70]), sum(latency_hist[71]), sum(latency_hist[72]), sum(latency_hist[73]), sum(latency_hist[74]), sum(latency_hist[75]), sum(latency_hist[76]), sum(latency_hist[77]), sum(latency_hist[78]), sum(latency_hist[79]), sum(latency_hist[80]), sum(latency_hist[81]), sum(latency_hist[82]), sum(latency_hist[83]), sum(latency_hist[84]), sum(latency_hist[85]), sum(latency_hist[86]), sum(latency_hist[87]), sum(latency_hist[88]), sum(latency_hist[89]), sum(latency_hist[90]), sum(latency_hist[91]), sum(latency_hist[92]), sum(latency_hist[93]), sum(latency_hist[94]), sum(latency_hist[95]), sum(latency_hist[96]), sum(latency_hist[97]), sum(latency_hist[98]), sum(latency_hist[99]), sum(latency_hist[100]), sum(latency_hist[101]), sum(latency_hist[102])] AS h FROM (SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2, latency_hist
                FROM "traces_1min" WHERE (org_id = 'org_acme' AND bucket >= '2026-12-06T02:58:00.000Z'::timestamptz AND bucket < '2026-12-06T03:00:00.000Z'::timestamptz) UNION ALL SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2, latency_hist
                FROM "traces_1hour" WHERE (org_id = 'org_acme' AND bucket >= '2026-12-06T03:00:00.000Z'::timestamptz AND bucket < '2026-12-07T01:00:00.000Z'::timestamptz) UNION ALL SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2, latency_hist
                FROM "traces_1min" WHERE (org_id = 'org_acme' AND bucket >= '2026-12-07T01:00:00.000Z'::timestamptz AND bucket < '2026-12-07T02:54:00.000Z'::timestamptz)) r GROUP BY 1, 2, 3, 4) g
        CROSS JOIN LATERAL unnest(g.h) WITH ORDINALITY AS u(c, i)
       WHERE u.c > 0) x
             GROUP BY GROUPING SETS ((cell), (d0, d1, d2, cell))) l
     GROUP BY t, d0, d1, d2, by_time, by_group /* countLatencyCells:traces+traces_1min+traces_1hour+traces_1min+traces */;

-- spendByProvider readSettings
SELECT set_config('statement_timeout', '30000', true), set_config('enable_parallel_append', 'off', true) /* readSettings */;

-- spendByProvider sumTraceStats

      SELECT time_bucket(INTERVAL '1 day', ts) AS t, (provider)::text AS d0, NULL::text AS d1, NULL::text AS d2,
             count(*)::float8 AS n,
           count(*) FILTER (WHERE status_code >= 400)::float8 AS errors,
           0::float8 AS dur_sum,
           NULL::float8 AS dur_min,
           NULL::float8 AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           coalesce(sum(prompt_tokens), 0)::float8 AS prompt_tokens,
           coalesce(sum(completion_tokens), 0)::float8 AS completion_tokens,
           coalesce(sum(cached_tokens), 0)::float8 AS cached_tokens,
           coalesce(sum(total_tokens), 0)::float8 AS total_tokens,
           coalesce(sum(prompt_cost_usd), 0)::text AS prompt_cost,
           coalesce(sum(completion_cost_usd), 0)::text AS completion_cost,
           coalesce(sum(total_cost_usd), 0)::text AS total_cost
        FROM traces
       WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-11-30T02:57:40.000Z'::timestamptz AND traces.ts < '2026-11-30T02:58:00.000Z'::timestamptz)
       GROUP BY GROUPING SETS ((1), (2, 3, 4)) UNION ALL 
    SELECT time_bucket(INTERVAL '1 day', bucket) AS t, (provider)::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           0::float8 AS dur_sum,
           NULL::float8 AS dur_min,
           NULL::float8 AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           coalesce(sum(prompt_tokens_sum), 0)::float8 AS prompt_tokens,
           coalesce(sum(completion_tokens_sum), 0)::float8 AS completion_tokens,
           coalesce(sum(cached_tokens_sum), 0)::float8 AS cached_tokens,
           coalesce(sum(total_tokens_sum), 0)::float8 AS total_tokens,
           coalesce(sum(prompt_cost_sum), 0)::text AS prompt_cost,
           coalesce(sum(completion_cost_sum), 0)::text AS completion_cost,
           coalesce(sum(total_cost_sum), 0)::text AS total_cost
      FROM "traces_1min"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-11-30T02:58:00.000Z'::timestamptz AND bucket < '2026-11-30T03:00:00.000Z'::timestamptz)
     GROUP BY GROUPING SETS ((1), (2, 3, 4)) UNION ALL 
    SELECT time_bucket(INTERVAL '1 day', bucket) AS t, (provider)::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           0::float8 AS dur_sum,
           NULL::float8 AS dur_min,
           NULL::float8 AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           coalesce(sum(prompt_tokens_sum), 0)::float8 AS prompt_tokens,
           coalesce(sum(completion_tokens_sum), 0)::float8 AS completion_tokens,
           coalesce(sum(cached_tokens_sum), 0)::float8 AS cached_tokens,
           coalesce(sum(total_tokens_sum), 0)::float8 AS total_tokens,
           coalesce(sum(prompt_cost_sum), 0)::text AS prompt_cost,
           coalesce(sum(completion_cost_sum), 0)::text AS completion_cost,
           coalesce(sum(total_cost_sum), 0)::text AS total_cost
      FROM "traces_1hour"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-11-30T03:00:00.000Z'::timestamptz AND bucket < '2026-12-01T00:00:00.000Z'::timestamptz)
     GROUP BY GROUPING SETS ((1), (2, 3, 4)) UNION ALL 
    SELECT time_bucket(INTERVAL '1 day', bucket) AS t, (provider)::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           0::float8 AS dur_sum,
           NULL::float8 AS dur_min,
           NULL::float8 AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           coalesce(sum(prompt_tokens_sum), 0)::float8 AS prompt_tokens,
           coalesce(sum(completion_tokens_sum), 0)::float8 AS completion_tokens,
           coalesce(sum(cached_tokens_sum), 0)::float8 AS cached_tokens,
           coalesce(sum(total_tokens_sum), 0)::float8 AS total_tokens,
           coalesce(sum(prompt_cost_sum), 0)::text AS prompt_cost,
           coalesce(sum(completion_cost_sum), 0)::text AS completion_cost,
           coalesce(sum(total_cost_sum), 0)::text AS total_cost
      FROM "traces_1day"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-12-01T00:00:00.000Z'::timestamptz AND bucket < '2026-12-07T00:00:00.000Z'::timestamptz)
     GROUP BY GROUPING SETS ((1), (2, 3, 4)) UNION ALL 
    SELECT time_bucket(INTERVAL '1 day', bucket) AS t, (provider)::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           0::float8 AS dur_sum,
           NULL::float8 AS dur_min,
           NULL::float8 AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           coalesce(sum(prompt_tokens_sum), 0)::float8 AS prompt_tokens,
           coalesce(sum(completion_tokens_sum), 0)::float8 AS completion_tokens,
           coalesce(sum(cached_tokens_sum), 0)::float8 AS cached_tokens,
           coalesce(sum(total_tokens_sum), 0)::float8 AS total_tokens,
           coalesce(sum(prompt_cost_sum), 0)::text AS prompt_cost,
           coalesce(sum(completion_cost_sum), 0)::text AS completion_cost,
           coalesce(sum(total_cost_sum), 0)::text AS total_cost
      FROM "traces_1hour"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-12-07T00:00:00.000Z'::timestamptz AND bucket < '2026-12-07T01:00:00.000Z'::timestamptz)
     GROUP BY GROUPING SETS ((1), (2, 3, 4)) UNION ALL 
    SELECT time_bucket(INTERVAL '1 day', bucket) AS t, (provider)::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           0::float8 AS dur_sum,
           NULL::float8 AS dur_min,
           NULL::float8 AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           coalesce(sum(prompt_tokens_sum), 0)::float8 AS prompt_tokens,
           coalesce(sum(completion_tokens_sum), 0)::float8 AS completion_tokens,
           coalesce(sum(cached_tokens_sum), 0)::float8 AS cached_tokens,
           coalesce(sum(total_tokens_sum), 0)::float8 AS total_tokens,
           coalesce(sum(prompt_cost_sum), 0)::text AS prompt_cost,
           coalesce(sum(completion_cost_sum), 0)::text AS completion_cost,
           coalesce(sum(total_cost_sum), 0)::text AS total_cost
      FROM "traces_1min"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-12-07T01:00:00.000Z'::timestamptz AND bucket < '2026-12-07T02:54:00.000Z'::timestamptz)
     GROUP BY GROUPING SETS ((1), (2, 3, 4)) UNION ALL 
      SELECT time_bucket(INTERVAL '1 day', ts) AS t, (provider)::text AS d0, NULL::text AS d1, NULL::text AS d2,
             count(*)::float8 AS n,
           count(*) FILTER (WHERE status_code >= 400)::float8 AS errors,
           0::float8 AS dur_sum,
           NULL::float8 AS dur_min,
           NULL::float8 AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           coalesce(sum(prompt_tokens), 0)::float8 AS prompt_tokens,
           coalesce(sum(completion_tokens), 0)::float8 AS completion_tokens,
           coalesce(sum(cached_tokens), 0)::float8 AS cached_tokens,
           coalesce(sum(total_tokens), 0)::float8 AS total_tokens,
           coalesce(sum(prompt_cost_usd), 0)::text AS prompt_cost,
           coalesce(sum(completion_cost_usd), 0)::text AS completion_cost,
           coalesce(sum(total_cost_usd), 0)::text AS total_cost
        FROM traces
       WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-12-07T02:54:00.000Z'::timestamptz AND traces.ts < '2026-12-07T02:57:40.000Z'::timestamptz)
       GROUP BY GROUPING SETS ((1), (2, 3, 4)) /* sumTraceStats:traces+traces_1min+traces_1hour+traces_1day+traces_1hour+traces_1min+traces */;

-- quality readSettings
SELECT set_config('statement_timeout', '30000', true), set_config('enable_parallel_append', 'off', true) /* readSettings */;

-- quality sumTraceStats

      SELECT NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2,
             count(*)::float8 AS n,
           count(*) FILTER (WHERE status_code >= 400)::float8 AS errors,
           0::float8 AS dur_sum,
           NULL::float8 AS dur_min,
           NULL::float8 AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
        FROM traces
       WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-11-30T02:57:40.000Z'::timestamptz AND traces.ts < '2026-11-30T02:58:00.000Z'::timestamptz)
       GROUP BY 1, 2, 3, 4 UNION ALL 
    SELECT NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           0::float8 AS dur_sum,
           NULL::float8 AS dur_min,
           NULL::float8 AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
      FROM "traces_1min"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-11-30T02:58:00.000Z'::timestamptz AND bucket < '2026-11-30T03:00:00.000Z'::timestamptz)
     GROUP BY 1, 2, 3, 4 UNION ALL 
    SELECT NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           0::float8 AS dur_sum,
           NULL::float8 AS dur_min,
           NULL::float8 AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
      FROM "traces_1hour"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-11-30T03:00:00.000Z'::timestamptz AND bucket < '2026-12-01T00:00:00.000Z'::timestamptz)
     GROUP BY 1, 2, 3, 4 UNION ALL 
    SELECT NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           0::float8 AS dur_sum,
           NULL::float8 AS dur_min,
           NULL::float8 AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
      FROM "traces_1day"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-12-01T00:00:00.000Z'::timestamptz AND bucket < '2026-12-07T00:00:00.000Z'::timestamptz)
     GROUP BY 1, 2, 3, 4 UNION ALL 
    SELECT NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           0::float8 AS dur_sum,
           NULL::float8 AS dur_min,
           NULL::float8 AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
      FROM "traces_1hour"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-12-07T00:00:00.000Z'::timestamptz AND bucket < '2026-12-07T01:00:00.000Z'::timestamptz)
     GROUP BY 1, 2, 3, 4 UNION ALL 
    SELECT NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           0::float8 AS dur_sum,
           NULL::float8 AS dur_min,
           NULL::float8 AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
      FROM "traces_1min"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-12-07T01:00:00.000Z'::timestamptz AND bucket < '2026-12-07T02:54:00.000Z'::timestamptz)
     GROUP BY 1, 2, 3, 4 UNION ALL 
      SELECT NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2,
             count(*)::float8 AS n,
           count(*) FILTER (WHERE status_code >= 400)::float8 AS errors,
           0::float8 AS dur_sum,
           NULL::float8 AS dur_min,
           NULL::float8 AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
        FROM traces
       WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-12-07T02:54:00.000Z'::timestamptz AND traces.ts < '2026-12-07T02:57:40.000Z'::timestamptz)
       GROUP BY 1, 2, 3, 4 /* sumTraceStats:traces+traces_1min+traces_1hour+traces_1day+traces_1hour+traces_1min+traces */;

-- quality sumScoresPlanned

    SELECT name, t, d0, d1, d2, sum(n) AS n, sum(value_n) AS value_n, coalesce(sum(value_sum), 0) AS value_sum,
           min(value_min) AS value_min, max(value_max) AS value_max
      FROM (SELECT name, NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2, 1::float8 AS n,
                   (value IS NOT NULL)::int::float8 AS value_n, value AS value_sum, value AS value_min, value AS value_max
              FROM scores WHERE org_id = 'org_acme' AND "trace_ts" >= '2026-11-30T02:57:40.000Z'::timestamptz AND "trace_ts" < '2026-11-30T02:58:00.000Z'::timestamptz AND model IS NOT NULL UNION ALL SELECT name, NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2, score_count::float8 AS n,
                   value_count::float8 AS value_n, value_sum, value_min, value_max
              FROM "scores_1min" WHERE org_id = 'org_acme' AND "bucket" >= '2026-11-30T02:58:00.000Z'::timestamptz AND "bucket" < '2026-11-30T03:00:00.000Z'::timestamptz UNION ALL SELECT name, NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2, score_count::float8 AS n,
                   value_count::float8 AS value_n, value_sum, value_min, value_max
              FROM "scores_1hour" WHERE org_id = 'org_acme' AND "bucket" >= '2026-11-30T03:00:00.000Z'::timestamptz AND "bucket" < '2026-12-01T00:00:00.000Z'::timestamptz UNION ALL SELECT name, NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2, score_count::float8 AS n,
                   value_count::float8 AS value_n, value_sum, value_min, value_max
              FROM "scores_1day" WHERE org_id = 'org_acme' AND "bucket" >= '2026-12-01T00:00:00.000Z'::timestamptz AND "bucket" < '2026-12-07T00:00:00.000Z'::timestamptz UNION ALL SELECT name, NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2, score_count::float8 AS n,
                   value_count::float8 AS value_n, value_sum, value_min, value_max
              FROM "scores_1hour" WHERE org_id = 'org_acme' AND "bucket" >= '2026-12-07T00:00:00.000Z'::timestamptz AND "bucket" < '2026-12-07T01:00:00.000Z'::timestamptz UNION ALL SELECT name, NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2, score_count::float8 AS n,
                   value_count::float8 AS value_n, value_sum, value_min, value_max
              FROM "scores_1min" WHERE org_id = 'org_acme' AND "bucket" >= '2026-12-07T01:00:00.000Z'::timestamptz AND "bucket" < '2026-12-07T02:54:00.000Z'::timestamptz UNION ALL SELECT name, NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2, 1::float8 AS n,
                   (value IS NOT NULL)::int::float8 AS value_n, value AS value_sum, value AS value_min, value AS value_max
              FROM scores WHERE org_id = 'org_acme' AND "trace_ts" >= '2026-12-07T02:54:00.000Z'::timestamptz AND "trace_ts" < '2026-12-07T02:57:40.000Z'::timestamptz AND model IS NOT NULL) u
     GROUP BY 1, 2, 3, 4, 5 /* sumScoresPlanned */;

-- quality countScoredTracesPlanned

    SELECT coalesce(sum(scored), 0)::float8 AS scored, coalesce(sum(human), 0)::float8 AS human
      FROM (SELECT count(DISTINCT trace_id)::float8 AS scored, count(DISTINCT trace_id) FILTER (WHERE source = 'human')::float8 AS human
              FROM scores WHERE org_id = 'org_acme' AND "trace_ts" >= '2026-11-30T02:57:40.000Z'::timestamptz AND "trace_ts" < '2026-11-30T02:58:00.000Z'::timestamptz AND model IS NOT NULL UNION ALL SELECT coalesce(sum(scored_traces), 0)::float8 AS scored, coalesce(sum(human_traces), 0)::float8 AS human
              FROM "scored_traces_1min" WHERE org_id = 'org_acme' AND "bucket" >= '2026-11-30T02:58:00.000Z'::timestamptz AND "bucket" < '2026-11-30T03:00:00.000Z'::timestamptz UNION ALL SELECT coalesce(sum(scored_traces), 0)::float8 AS scored, coalesce(sum(human_traces), 0)::float8 AS human
              FROM "scored_traces_1hour" WHERE org_id = 'org_acme' AND "bucket" >= '2026-11-30T03:00:00.000Z'::timestamptz AND "bucket" < '2026-12-01T00:00:00.000Z'::timestamptz UNION ALL SELECT coalesce(sum(scored_traces), 0)::float8 AS scored, coalesce(sum(human_traces), 0)::float8 AS human
              FROM "scored_traces_1day" WHERE org_id = 'org_acme' AND "bucket" >= '2026-12-01T00:00:00.000Z'::timestamptz AND "bucket" < '2026-12-07T00:00:00.000Z'::timestamptz UNION ALL SELECT coalesce(sum(scored_traces), 0)::float8 AS scored, coalesce(sum(human_traces), 0)::float8 AS human
              FROM "scored_traces_1hour" WHERE org_id = 'org_acme' AND "bucket" >= '2026-12-07T00:00:00.000Z'::timestamptz AND "bucket" < '2026-12-07T01:00:00.000Z'::timestamptz UNION ALL SELECT coalesce(sum(scored_traces), 0)::float8 AS scored, coalesce(sum(human_traces), 0)::float8 AS human
              FROM "scored_traces_1min" WHERE org_id = 'org_acme' AND "bucket" >= '2026-12-07T01:00:00.000Z'::timestamptz AND "bucket" < '2026-12-07T02:54:00.000Z'::timestamptz UNION ALL SELECT count(DISTINCT trace_id)::float8 AS scored, count(DISTINCT trace_id) FILTER (WHERE source = 'human')::float8 AS human
              FROM scores WHERE org_id = 'org_acme' AND "trace_ts" >= '2026-12-07T02:54:00.000Z'::timestamptz AND "trace_ts" < '2026-12-07T02:57:40.000Z'::timestamptz AND model IS NOT NULL) u /* countScoredTracesPlanned */;

-- compareModels readSettings
SELECT set_config('statement_timeout', '30000', true), set_config('enable_parallel_append', 'off', true) /* readSettings */;

-- compareModels sumTraceStats

      SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
             count(*)::float8 AS n,
           count(*) FILTER (WHERE status_code >= 400)::float8 AS errors,
           coalesce(sum(duration_ms), 0) AS dur_sum,
           min(duration_ms) AS dur_min,
           max(duration_ms) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           coalesce(sum(prompt_cost_usd), 0)::text AS prompt_cost,
           coalesce(sum(completion_cost_usd), 0)::text AS completion_cost,
           coalesce(sum(total_cost_usd), 0)::text AS total_cost
        FROM traces
       WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-11-30T02:57:40.000Z'::timestamptz AND traces.ts < '2026-11-30T02:58:00.000Z'::timestamptz AND traces.model IN ('gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro'))
       GROUP BY 1, 2, 3, 4 UNION ALL 
    SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           coalesce(sum(duration_sum), 0) AS dur_sum,
           min(duration_min) AS dur_min,
           max(duration_max) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           coalesce(sum(prompt_cost_sum), 0)::text AS prompt_cost,
           coalesce(sum(completion_cost_sum), 0)::text AS completion_cost,
           coalesce(sum(total_cost_sum), 0)::text AS total_cost
      FROM "traces_1min"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-11-30T02:58:00.000Z'::timestamptz AND bucket < '2026-11-30T03:00:00.000Z'::timestamptz AND model IN ('gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro'))
     GROUP BY 1, 2, 3, 4 UNION ALL 
    SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           coalesce(sum(duration_sum), 0) AS dur_sum,
           min(duration_min) AS dur_min,
           max(duration_max) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           coalesce(sum(prompt_cost_sum), 0)::text AS prompt_cost,
           coalesce(sum(completion_cost_sum), 0)::text AS completion_cost,
           coalesce(sum(total_cost_sum), 0)::text AS total_cost
      FROM "traces_1hour"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-11-30T03:00:00.000Z'::timestamptz AND bucket < '2026-12-01T00:00:00.000Z'::timestamptz AND model IN ('gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro'))
     GROUP BY 1, 2, 3, 4 UNION ALL 
    SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           coalesce(sum(duration_sum), 0) AS dur_sum,
           min(duration_min) AS dur_min,
           max(duration_max) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           coalesce(sum(prompt_cost_sum), 0)::text AS prompt_cost,
           coalesce(sum(completion_cost_sum), 0)::text AS completion_cost,
           coalesce(sum(total_cost_sum), 0)::text AS total_cost
      FROM "traces_1day"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-12-01T00:00:00.000Z'::timestamptz AND bucket < '2026-12-07T00:00:00.000Z'::timestamptz AND model IN ('gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro'))
     GROUP BY 1, 2, 3, 4 UNION ALL 
    SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           coalesce(sum(duration_sum), 0) AS dur_sum,
           min(duration_min) AS dur_min,
           max(duration_max) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           coalesce(sum(prompt_cost_sum), 0)::text AS prompt_cost,
           coalesce(sum(completion_cost_sum), 0)::text AS completion_cost,
           coalesce(sum(total_cost_sum), 0)::text AS total_cost
      FROM "traces_1hour"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-12-07T00:00:00.000Z'::timestamptz AND bucket < '2026-12-07T01:00:00.000Z'::timestamptz AND model IN ('gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro'))
     GROUP BY 1, 2, 3, 4 UNION ALL 
    SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           coalesce(sum(duration_sum), 0) AS dur_sum,
           min(duration_min) AS dur_min,
           max(duration_max) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           coalesce(sum(prompt_cost_sum), 0)::text AS prompt_cost,
           coalesce(sum(completion_cost_sum), 0)::text AS completion_cost,
           coalesce(sum(total_cost_sum), 0)::text AS total_cost
      FROM "traces_1min"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-12-07T01:00:00.000Z'::timestamptz AND bucket < '2026-12-07T02:54:00.000Z'::timestamptz AND model IN ('gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro'))
     GROUP BY 1, 2, 3, 4 UNION ALL 
      SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
             count(*)::float8 AS n,
           count(*) FILTER (WHERE status_code >= 400)::float8 AS errors,
           coalesce(sum(duration_ms), 0) AS dur_sum,
           min(duration_ms) AS dur_min,
           max(duration_ms) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           coalesce(sum(prompt_cost_usd), 0)::text AS prompt_cost,
           coalesce(sum(completion_cost_usd), 0)::text AS completion_cost,
           coalesce(sum(total_cost_usd), 0)::text AS total_cost
        FROM traces
       WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-12-07T02:54:00.000Z'::timestamptz AND traces.ts < '2026-12-07T02:57:40.000Z'::timestamptz AND traces.model IN ('gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro'))
       GROUP BY 1, 2, 3, 4 /* sumTraceStats:traces+traces_1min+traces_1hour+traces_1day+traces_1hour+traces_1min+traces */;

-- compareModels countLatencyCells

    SELECT t, d0, d1, d2, by_time, by_group, string_agg(cell::text || ':' || c::text, ',' ORDER BY cell) AS cells
      FROM (SELECT NULL::timestamptz AS t, d0, d1, d2,
                   cell, sum(c)::bigint AS c,
                   1 AS by_time, GROUPING(d0, d1, d2)::int AS by_group
              FROM (SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
             width_bucket(ln(greatest(duration_ms, 1)), 0, ln(600000::float8), 100) AS cell,
             1::float8 AS c
        FROM traces WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-11-30T02:57:40.000Z'::timestamptz AND traces.ts < '2026-11-30T02:58:00.000Z'::timestamptz AND traces.model IN ('gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro')) UNION ALL SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2,
             width_bucket(ln(greatest(duration_ms, 1)), 0, ln(600000::float8), 100) AS cell,
             1::float8 AS c
        FROM traces WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-12-07T02:54:00.000Z'::timestamptz AND traces.ts < '2026-12-07T02:57:40.000Z'::timestamptz AND traces.model IN ('gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro')) UNION ALL SELECT g.t, g.d0, g.d1, g.d2, (u.i - 1)::int AS cell, u.c::float8 AS c
        FROM (SELECT t, d0, d1, d2, ARRAY[sum(latency_hist[1]), sum(latency_hist[2]), sum(latency_hist[3]), sum(latency_hist[4]), sum(latency_hist[5]), sum(latency_hist[6]), sum(latency_hist[7]), sum(latency_hist[8]), sum(latency_hist[9]), sum(latency_hist[10]), sum(latency_hist[11]), sum(latency_hist[12]), sum(latency_hist[13]), sum(latency_hist[14]), sum(latency_hist[15]), sum(latency_hist[16]), sum(latency_hist[17]), sum(latency_hist[18]), sum(latency_hist[19]), sum(latency_hist[20]), sum(latency_hist[21]), sum(latency_hist[22]), sum(latency_hist[23]), sum(latency_hist[24]), sum(latency_hist[25]), sum(latency_hist[26]), sum(latency_hist[27]), sum(latency_hist[28]), sum(latency_hist[29]), sum(latency_hist[30]), sum(latency_hist[31]), sum(latency_hist[32]), sum(latency_hist[33]), sum(latency_hist[34]), sum(latency_hist[35]), sum(latency_hist[36]), sum(latency_hist[37]), sum(latency_hist[38]), sum(latency_hist[39]), sum(latency_hist[40]), sum(latency_hist[41]), sum(latency_hist[42]), sum(latency_hist[43]), sum(latency_hist[44]), sum(latency_hist[45]), sum(latency_hist[46]), sum(latency_hist[47]), sum(latency_hist[48]), sum(latency_hist[49]), sum(latency_hist[50]), sum(latency_hist[51]), sum(latency_hist[52]), sum(latency_hist[53]), sum(latency_hist[54]), sum(latency_hist[55]), sum(latency_hist[56]), sum(latency_hist[57]), sum(latency_hist[58]), sum(latency_hist[59]), sum(latency_hist[60]), sum(latency_hist[61]), sum(latency_hist[62]), sum(latency_hist[63]), sum(latency_hist[64]), sum(latency_hist[65]), sum(latency_hist[66]), sum(latency_hist[67]), sum(latency_hist[68]), sum(latency_hist[69]), sum(latency_hist[70]), sum(latency_hist[71]), sum(latency_hist[72]), sum(latency_hist[73]), sum(latency_hist[74]), sum(latency_hist[75]), sum(latency_hist[76]), sum(latency_hist[77]), sum(latency_hist[78]), sum(latency_hist[79]), sum(latency_hist[80]), sum(latency_hist[81]), sum(latency_hist[82]), sum(latency_hist[83]), sum(latency_hist[84]), sum(latency_hist[85]), sum(latency_hist[86]), sum(latency_hist[87]), sum(latency_hist[88]), sum(latency_hist[89]), sum(latency_hist[90]), sum(latency_hist[91]), sum(latency_hist[92]), sum(latency_hist[93]), sum(latency_hist[94]), sum(latency_hist[95]), sum(latency_hist[96]), sum(latency_hist[97]), sum(latency_hist[98]), sum(latency_hist[99]), sum(latency_hist[100]), sum(latency_hist[101]), sum(latency_hist[102])] AS h FROM (SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2, latency_hist
                FROM "traces_1min" WHERE (org_id = 'org_acme' AND bucket >= '2026-11-30T02:58:00.000Z'::timestamptz AND bucket < '2026-11-30T03:00:00.000Z'::timestamptz AND model IN ('gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro')) UNION ALL SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2, latency_hist
                FROM "traces_1hour" WHERE (org_id = 'org_acme' AND bucket >= '2026-11-30T03:00:00.000Z'::timestamptz AND bucket < '2026-12-01T00:00:00.000Z'::timestamptz AND model IN ('gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro')) UNION ALL SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2, latency_hist
                FROM "traces_1day" WHERE (org_id = 'org_acme' AND bucket >= '2026-12-01T00:00:00.000Z'::timestamptz AND bucket < '2026-12-07T00:00:00.000Z'::timestamptz AND model IN ('gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro')) UNION ALL SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2, latency_hist
                FROM "traces_1hour" WHERE (org_id = 'org_acme' AND bucket >= '2026-12-07T00:00:00.000Z'::timestamptz AND bucket < '2026-12-07T01:00:00.000Z'::timestamptz AND model IN ('gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro')) UNION ALL SELECT NULL::timestamptz AS t, (model)::text AS d0, NULL::text AS d1, NULL::text AS d2, latency_hist
                FROM "traces_1min" WHERE (org_id = 'org_acme' AND bucket >= '2026-12-07T01:00:00.000Z'::timestamptz AND bucket < '2026-12-07T02:54:00.000Z'::timestamptz AND model IN ('gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro'))) r GROUP BY 1, 2, 3, 4) g
        CROSS JOIN LATERAL unnest(g.h) WITH ORDINALITY AS u(c, i)
       WHERE u.c > 0) x
             GROUP BY GROUPING SETS ((d0, d1, d2, cell))) l
     GROUP BY t, d0, d1, d2, by_time, by_group /* countLatencyCells:traces+traces_1min+traces_1hour+traces_1day+traces_1hour+traces_1min+traces */;

-- compareModels findProvidersOfModels

          SELECT DISTINCT ON (model) model, provider FROM model_prices
           WHERE model = ANY(ARRAY['gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro']::text[]::text[]) ORDER BY model, effective_from DESC /* findProvidersOfModels */;

-- lastHour readSettings
SELECT set_config('statement_timeout', '30000', true), set_config('enable_parallel_append', 'off', true) /* readSettings */;

-- lastHour sumTraceStats

      SELECT NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2,
             count(*)::float8 AS n,
           count(*) FILTER (WHERE status_code >= 400)::float8 AS errors,
           coalesce(sum(duration_ms), 0) AS dur_sum,
           min(duration_ms) AS dur_min,
           max(duration_ms) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
        FROM traces
       WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-12-07T01:57:40.000Z'::timestamptz AND traces.ts < '2026-12-07T01:58:00.000Z'::timestamptz)
       GROUP BY 1, 2, 3, 4 UNION ALL 
    SELECT NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2,
           sum(request_count)::float8 AS n,
           sum(error_count)::float8 AS errors,
           coalesce(sum(duration_sum), 0) AS dur_sum,
           min(duration_min) AS dur_min,
           max(duration_max) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
      FROM "traces_1min"
     WHERE (org_id = 'org_acme' AND bucket >= '2026-12-07T01:58:00.000Z'::timestamptz AND bucket < '2026-12-07T02:54:00.000Z'::timestamptz)
     GROUP BY 1, 2, 3, 4 UNION ALL 
      SELECT NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2,
             count(*)::float8 AS n,
           count(*) FILTER (WHERE status_code >= 400)::float8 AS errors,
           coalesce(sum(duration_ms), 0) AS dur_sum,
           min(duration_ms) AS dur_min,
           max(duration_ms) AS dur_max,
           NULL::float8 AS ttft_sum,
           0::float8 AS ttft_n,
           NULL::float8 AS ttft_min,
           NULL::float8 AS ttft_max,
           0::float8 AS prompt_tokens,
           0::float8 AS completion_tokens,
           0::float8 AS cached_tokens,
           0::float8 AS total_tokens,
           '0'::text AS prompt_cost,
           '0'::text AS completion_cost,
           '0'::text AS total_cost
        FROM traces
       WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-12-07T02:54:00.000Z'::timestamptz AND traces.ts < '2026-12-07T02:57:40.000Z'::timestamptz)
       GROUP BY 1, 2, 3, 4 /* sumTraceStats:traces+traces_1min+traces */;

-- lastHour findExactLatencyPercentiles

    SELECT NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2, 1 AS by_time,
           1 AS by_group,
           percentile_disc(ARRAY[0.5, 0.9, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY duration_ms) AS p
      FROM (SELECT NULL::timestamptz AS t, NULL::text AS d0, NULL::text AS d1, NULL::text AS d2, duration_ms
              FROM traces WHERE (traces.org_id = 'org_acme' AND traces.ts >= '2026-12-07T01:57:40.000Z'::timestamptz AND traces.ts < '2026-12-07T02:57:40.000Z'::timestamptz)) s
     GROUP BY GROUPING SETS (()) /* findExactLatencyPercentiles */;
