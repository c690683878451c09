import type { ApiKey, Resolvers } from '../../__generated__/resolvers-types';
import type { ApiKeyRow } from './api-keys.repository';
import { issueApiKey, listApiKeys, revokeApiKey } from './api-keys.service';

const toApiKey = (r: ApiKeyRow): ApiKey => ({
  id: r.id,
  name: r.name,
  role: r.role,
  projectIds: r.project_ids,
  keyPrefix: r.key_prefix,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
  active: r.revoked_at === null,
});

/** Key management (KEYS_MANAGE, ADMIN): writes and reads on the primary, which sees its own writes. */
export const apiKeyResolvers: Resolvers = {
  Query: {
    apiKeys: async (_p, { includeRevoked }, ctx) =>
      (await listApiKeys(ctx, { includeRevoked: includeRevoked ?? false })).map(toApiKey),
  },
  Mutation: {
    createApiKey: async (_p, { name, role, projectIds }, ctx) => {
      const { key, apiKey } = await issueApiKey(ctx, { name, role, projectIds });
      ctx.logger.info({ keyId: apiKey.id, role: apiKey.role, by: ctx.viewer.keyId ?? ctx.viewer.subject }, 'API key created');
      return { key, apiKey: toApiKey(apiKey) };
    },
    revokeApiKey: async (_p, { id }, ctx) => {
      const { apiKey, keyHash } = await revokeApiKey(ctx, id);
      ctx.services.authenticator?.forgetKeyHash(keyHash);
      ctx.logger.info({ keyId: apiKey.id, by: ctx.viewer.keyId ?? ctx.viewer.subject }, 'API key revoked');
      return toApiKey(apiKey);
    },
  },
};
