import { badInput } from './errors';

/** Project ids and names, as createProject and createOrg (its first projects) accept them. */
export const PROJECT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{2,63}$/;
export const MAX_PROJECT_NAME_LENGTH = 100;

export function checkProjectName(name: string): string {
  const n = name.trim();
  if (n.length < 1 || n.length > MAX_PROJECT_NAME_LENGTH || n.includes('\u0000')) {
    throw badInput(`name must be 1–${MAX_PROJECT_NAME_LENGTH} characters`, { argument: 'name' });
  }
  return n;
}
