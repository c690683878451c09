import type { Resolvers } from '../__generated__/resolvers-types';
import { badInput, forbidden } from '../shared/errors';

export const cacheResolvers: Resolvers = {
  Mutation: {
    // The role check is here until the permission mechanism covers mutations.
    purgeCache: async (_p, { resource, projectId }, ctx, info) => {
      if (ctx.viewer.role !== 'ADMIN') throw forbidden('Only ADMIN keys may purge the cache');
      const cache = ctx.services.cache;
      if (resource != null && !cache?.ttlsOf(info.schema).has(resource)) {
        throw badInput(`resource must be a cached root field: ${[...(cache?.ttlsOf(info.schema).keys() ?? [])].join(', ')}`, { argument: 'resource' });
      }
      if (!cache) return { deleted: 0, resource: resource ?? null, projectId: projectId ?? null };
      const orgId = ctx.viewer.orgId;
      const deleted = projectId != null ? await cache.purgeProjectEntries(orgId, projectId, resource) : await cache.purge(orgId, resource);
      return { deleted, resource: resource ?? null, projectId: projectId ?? null };
    },
  },
};
