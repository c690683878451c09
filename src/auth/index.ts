import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import type { AppServices } from '../context';
import { applyAuthDirective } from './auth-directive';
import { Authenticator } from './authenticator';
import { createJwtVerifier } from './jwt';
import { authStaleServedTotal } from '../telemetry/metrics';

export function createAuthenticator(services: AppServices): Authenticator {
  const { config, database } = services;
  return new Authenticator(database.readDb, database.db, {
    ttlMs: config.auth.cacheTtlMs,
    staleIfErrorMs: config.auth.staleIfErrorMs,
    onStaleServed: config.telemetry.metrics.enabled ? () => authStaleServedTotal.inc() : undefined,
    verifyJwt: config.auth.jwt ? createJwtVerifier(config.auth.jwt) : undefined,
  });
}

/** The executable schema with @auth enforced: what Apollo serves. */
export function buildAuthorizedSchema(typeDefs: string, resolvers: unknown): GraphQLSchema {
  return applyAuthDirective(makeExecutableSchema({ typeDefs, resolvers: resolvers as never }));
}
