import type { Resolvers } from '../../__generated__/resolvers-types';

export const projectResolvers: Resolvers = {
  Project: {
    createdAt: (p) => p.created_at,
  },
};
