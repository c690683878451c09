import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';

const ROOT = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: { node?: string } | string[] }> };
const imageMajors = [...fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').matchAll(/^FROM node:(\d+)-/gm)].map((m) => Number(m[1]));

/**
 * Declare Node >= 22.15 but feature-detect what they use (Promise.withResolvers, Symbol.dispose,
 * SuppressedError), so they work on 20; pulled in by @graphql-tools/utils 12, which
 * @graphql-tools/schema 10.1 needs.
 */
const NODE20_WITH_FALLBACKS = ['@whatwg-node/disposablestack', '@whatwg-node/promise-helpers'];

const declared = Object.entries(lock.packages)
  .filter(([name, p]) => name && p.engines && !Array.isArray(p.engines) && p.engines.node)
  .map(([name, p]) => ({ name, range: (p.engines as { node: string }).node }));
const refusing = (version: string) => declared.filter((d) => semver.validRange(d.range) && !semver.satisfies(version, d.range)).map((d) => d.name.slice(d.name.lastIndexOf('node_modules/') + 'node_modules/'.length));

describe('Node versions: package.json engines, the Docker image and the dependencies agree', () => {
  it('builds and runs the image on one LTS line that package.json accepts', () => {
    expect(imageMajors.length).toBeGreaterThanOrEqual(2);
    expect(new Set(imageMajors).size).toBe(1);
    const major = imageMajors[0]!;
    expect(major % 2).toBe(0); // even majors are the LTS lines
    expect(semver.satisfies(`${major}.0.0`, pkg.engines.node)).toBe(true);
  });

  it('every locked dependency accepts the image Node', () => {
    expect(refusing(`${imageMajors[0]}.0.0`)).toEqual([]);
  });

  it('every locked dependency accepts the oldest Node package.json allows, but two known to feature-detect', () => {
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    expect([...new Set(refusing(oldest))].sort()).toEqual(NODE20_WITH_FALLBACKS);
    expect(semver.satisfies(process.version, pkg.engines.node)).toBe(true);
  });
});
