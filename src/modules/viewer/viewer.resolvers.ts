import type { Resolvers } from '../../__generated__/resolvers-types';

export const viewerResolvers: Resolvers = {
  Query: {
    viewer: (_parent, _args, ctx) => ctx.viewer,
  },
  Viewer: {
    projectIds: (v) => (v.projectIds ? [...v.projectIds] : null),
  },
};
