/**
 * One fill per key per instance: the first request to miss a key leads (executes the field);
 * requests missing the same key meanwhile follow (wait for the leader's value). A follower
 * whose leader fails or times out gets `undefined` and executes the field itself.
 *
 * Requests only wait on keys that were claimed before they claimed their own (claims are
 * taken in one synchronous step), so waits can never form a cycle.
 */
export interface Fill<T> {
  /** Hands the value to every follower (undefined: failed). Idempotent. */
  settle(value: T | undefined): void;
  /** Forgets the key: later misses lead again. Call after the value is in the store. */
  release(): void;
}

interface Flight<T> {
  readonly promise: Promise<T | undefined>;
  resolve(value: T | undefined): void;
  timer: NodeJS.Timeout;
}

export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>();

  /** @param maxFlightMs a leader that never settles is forgotten after this long */
  constructor(private readonly maxFlightMs: number) {}

  get size(): number {
    return this.flights.size;
  }

  /** The value of a fill in progress, or undefined when nobody is filling the key. */
  follow(key: string): Promise<T | undefined> | undefined {
    return this.flights.get(key)?.promise;
  }

  /** Claims the key; null when another request already leads it. */
  lead(key: string): Fill<T> | null {
    if (this.flights.has(key)) return null;
    let resolve!: (value: T | undefined) => void;
    const promise = new Promise<T | undefined>((r) => (resolve = r));
    const flight: Flight<T> = {
      promise,
      resolve,
      timer: setTimeout(() => {
        flight.resolve(undefined);
        if (this.flights.get(key) === flight) this.flights.delete(key);
      }, this.maxFlightMs),
    };
    flight.timer.unref();
    this.flights.set(key, flight);
    return {
      settle: (value) => flight.resolve(value),
      release: () => {
        clearTimeout(flight.timer);
        flight.resolve(undefined); // no-op when already settled
        if (this.flights.get(key) === flight) this.flights.delete(key);
      },
    };
  }
}
