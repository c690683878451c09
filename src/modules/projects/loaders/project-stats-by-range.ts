import DataLoader from 'dataloader';
import type { Scope } from '../../../auth/viewer';
import type { Config } from '../../../config';
import type { DatabaseHandle } from '../../../db/database';
import { computeTraceStats, emptyAcc, type StatsAcc } from '../../../query/trace-stats';

export interface ProjectStatsKey {
  projectId: string;
  from: Date;
  to: Date;
}

/**
 * Every project's summary for one range from one grouped query (Phoenix's loader pattern):
 * keys are grouped by range, each range is answered once for all its projects.
 */
export function createProjectStatsByRangeLoader(deps: { database: DatabaseHandle; config: Pick<Config, 'analytics'> }, scope: Scope) {
  return new DataLoader<ProjectStatsKey, StatsAcc, string>(
    async (keys) => {
      const byRange = new Map<string, ProjectStatsKey[]>();
      for (const k of keys) {
        const r = `${k.from.toISOString()}|${k.to.toISOString()}`;
        const list = byRange.get(r);
        if (list) list.push(k);
        else byRange.set(r, [k]);
      }
      const results = new Map<string, StatsAcc>();
      for (const [r, ks] of byRange) {
        const { from, to } = ks[0] as ProjectStatsKey;
        const projectIds = [...new Set(ks.map((k) => k.projectId))];
        const stats = await computeTraceStats(deps, scope, {
          from,
          to,
          filter: { projectIds },
          dims: ['PROJECT'],
          interval: null,
          percentiles: true,
          // p95 per project only.
          percentileLevels: { total: false, group: true, series: false, groupSeries: false },
          groupLimit: 1000,
        });
        for (const g of stats.groups) results.set(`${g.key.projectId}|${r}`, g.acc);
      }
      return keys.map((k) => results.get(`${k.projectId}|${k.from.toISOString()}|${k.to.toISOString()}`) ?? emptyAcc());
    },
    { cacheKeyFn: (k) => `${k.projectId}|${k.from.toISOString()}|${k.to.toISOString()}` },
  );
}
