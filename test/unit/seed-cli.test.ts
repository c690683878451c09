import { parseSeedArgs, progressWriter, runSeedCli, UsageError } from '../../db/seed/cli-main';

/** Collects what the CLI writes; isTTY decides the progress style. */
function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  const chunks: string[] = [];
  return {
    isTTY,
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
    text: () => chunks.join(''),
  } as unknown as NodeJS.WriteStream & { text: () => string };
}

describe('seed CLI arguments', () => {
  it('applies the documented defaults', () => {
    expect(parseSeedArgs([])).toEqual({ traces: 100_000, days: 30, orgs: 3, seed: 42, databaseUrl: undefined, existing: 'refuse' });
  });

  it('reads every option, including --seed 0', () => {
    expect(
      parseSeedArgs(['--traces', '500', '--days', '7', '--orgs', '2', '--seed', '0', '--database-url', 'postgres://h/db']),
    ).toEqual({ traces: 500, days: 7, orgs: 2, seed: 0, databaseUrl: 'postgres://h/db', existing: 'refuse' });
    expect(parseSeedArgs(['--append'])).toMatchObject({ existing: 'append' });
    expect(parseSeedArgs(['--reset'])).toMatchObject({ existing: 'reset' });
    expect(parseSeedArgs(['--traces=20'])).toMatchObject({ traces: 20 });
    expect(parseSeedArgs(['--help'])).toBe('help');
  });

  it.each([
    [['--traces', '0'], /--traces must be an integer >= 1/],
    [['--traces', '-5'], /--traces/],
    [['--days', '1.5'], /--days must be an integer/],
    [['--orgs', 'three'], /--orgs/],
    [['--seed=-1'], /--seed must be an integer >= 0/],
    [['--seed', '-1'], /--seed/],
    [['--traces', '99999999999999999999'], /--traces/],
    [['--bogus', '1'], /bogus/],
    [['positional'], /positional/],
    [['--append', '--reset'], /--append and --reset exclude each other/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseSeedArgs(argv as string[])).toThrow(UsageError);
    expect(() => parseSeedArgs(argv as string[])).toThrow(message);
  });

  it('exits with code 2 and a clear message on bad input, before touching any database', async () => {
    const stderr = fakeStream(false);
    const refreshRollups = jest.fn();
    const code = await runSeedCli(['--days', 'zero'], { refreshRollups, stderr, stdout: fakeStream(false), env: {} });
    expect(code).toBe(2);
    expect(stderr.text()).toMatch(/--days must be an integer >= 1, got "zero"/);
    expect(stderr.text()).toMatch(/Usage: npm run seed/);
    expect(refreshRollups).not.toHaveBeenCalled();
  });

  it('exits with code 2 on an invalid database URL', async () => {
    const stderr = fakeStream(false);
    const code = await runSeedCli(['--database-url', 'mysql://nope'], { refreshRollups: jest.fn(), stderr, stdout: fakeStream(false), env: {} });
    expect(code).toBe(2);
    expect(stderr.text()).toMatch(/DATABASE_URL/);
  });
});

describe('seed progress', () => {
  const feed = (out: NodeJS.WriteStream, total: number, step: number) => {
    const p = progressWriter(out);
    for (let done = step; done <= total; done += step) p.update({ traces: done, scores: 0, total, elapsedMs: done });
    p.done();
  };

  it('prints one line per 10% when stderr is not a terminal', () => {
    const out = fakeStream(false);
    feed(out, 10_000, 250);
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toMatch(/^\s*10\.0%\s+1,000\/10,000 traces\s+1,000 rows\/s loading$/);
    expect(lines[9]).toMatch(/100\.0%/);
  });

  it('redraws a single \\r line on a terminal and ends it with a newline', () => {
    const out = fakeStream(true);
    feed(out, 10_000, 2_500);
    const text = out.text();
    expect(text.startsWith('\r[')).toBe(true);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(text).toContain('100.0%');
  });
});
