import { MapperKind, getDirective, mapSchema } from '@graphql-tools/utils';
import { defaultFieldResolver, isObjectType, type GraphQLFieldConfig, type GraphQLSchema } from 'graphql';
import { AppError, ErrorCode } from '../shared/errors';
import { can, isPermission, type Permission } from './permissions';
import type { Viewer } from './viewer';

const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

/** The permission a field needs: its own @auth, else its type's, else (root fields only) ADMIN-only. */
export function requiredPermission(schema: GraphQLSchema, typeName: string, field: GraphQLFieldConfig<unknown, unknown>): Permission | 'UNDECLARED' | null {
  const own = getDirective(schema, field, 'auth')?.[0]?.requires;
  if (isPermission(own)) return own;
  const type = schema.getType(typeName);
  if (type && isObjectType(type)) {
    const inherited = getDirective(schema, type, 'auth')?.[0]?.requires;
    if (isPermission(inherited)) return inherited;
  }
  // A root field someone forgot to annotate fails closed (ADMIN only) instead of open.
  return ROOT_TYPES.has(typeName) ? 'UNDECLARED' : null;
}

export const forbiddenFor = (role: string, permission: string, path: string) =>
  new AppError(ErrorCode.FORBIDDEN, `The ${role} role may not read ${path} (needs ${permission})`, { permission, role });

/**
 * The single enforcement point of the permission table: every field with an @auth requirement
 * (directly or through its type) gets its resolver wrapped with the check. Nullable fields come
 * back null with a FORBIDDEN error at their path; non-null ones null their parent, as GraphQL does.
 */
export function applyAuthDirective(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig, fieldName, typeName) => {
      const permission = requiredPermission(schema, typeName, fieldConfig);
      if (!permission) return fieldConfig;
      const resolve = fieldConfig.resolve ?? defaultFieldResolver;
      return {
        ...fieldConfig,
        resolve(source, args, ctx: { viewer?: Viewer }, info) {
          const role = ctx?.viewer?.role;
          const allowed = role && (permission === 'UNDECLARED' ? role === 'ADMIN' : can(role, permission));
          if (!allowed) throw forbiddenFor(role ?? 'anonymous', permission, `${typeName}.${fieldName}`);
          return resolve(source, args, ctx, info);
        },
      };
    },
  });
}
