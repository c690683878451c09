import { asMaintenance, maintenanceTask } from '../../src/db/maintenance-scope';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('maintenance scope', () => {
  it('marks the work of a run across awaits, never concurrent work outside it', async () => {
    const seen: (string | undefined)[] = [];
    const outside = (async () => {
      for (let i = 0; i < 3; i++) {
        await tick();
        seen.push(maintenanceTask());
      }
    })();
    const inside = await asMaintenance('refresh', async () => {
      await tick();
      await tick();
      return maintenanceTask();
    });
    await outside;
    expect(inside).toBe('refresh');
    expect(seen).toEqual([undefined, undefined, undefined]);
    expect(maintenanceTask()).toBeUndefined();
  });

  it('keeps each run its own mark while runs overlap, and works again after all have ended', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const long = asMaintenance('migrations', async () => {
      await gate;
      return maintenanceTask();
    });
    // A second run that starts and ends while the first is still running.
    expect(await asMaintenance('search indexing', async () => (await tick(), maintenanceTask()))).toBe('search indexing');
    release();
    expect(await long).toBe('migrations');
    expect(maintenanceTask()).toBeUndefined();
    expect(await asMaintenance('again', async () => (await tick(), maintenanceTask()))).toBe('again');
  });

  it('ends the mark when the work fails', async () => {
    await expect(asMaintenance('failing', async () => {
      await tick();
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(maintenanceTask()).toBeUndefined();
    expect(await asMaintenance('after', async () => maintenanceTask())).toBe('after');
  });
});
