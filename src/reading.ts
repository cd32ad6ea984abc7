/** One verified update from a board: what the handler stores in the rrd and hands to the destinations. */
export interface Reading {
  readonly clientId: string;
  /** When the gateway accepted it, Unix milliseconds. */
  readonly timeMs: number;
  /** Source name → value; null is rrdtool's `U` (unknown). */
  readonly values: ReadonlyMap<string, number | null>;
}

/**
 * A reading as the gateway's own code makes them: an instance of a class rather than an object
 * literal, on purpose. V8 allocates a literal in the old generation once most objects of its
 * allocation site have outlived a young collection ("pretenuring"), and the first reading of
 * every board does (it waits for its rrd file to be created). From then on every reading went
 * straight to the old generation, where a dead one keeps its young values map alive through young
 * collections until a full one: at 10k updates/s that promoted ~1 MB per collection and made the
 * pauses 4-7 ms instead of ~1 ms. Objects made by a constructor are not pretenured this way.
 */
export class VerifiedReading implements Reading {
  readonly clientId: string;
  readonly timeMs: number;
  readonly values: ReadonlyMap<string, number | null>;

  constructor(clientId: string, timeMs: number, values: ReadonlyMap<string, number | null>) {
    this.clientId = clientId;
    this.timeMs = timeMs;
    this.values = values;
  }
}

/**
 * Where verified readings go besides the rrd: the destinations. The gateway hands every
 * verified reading over, whether or not its rrd write succeeded.
 */
export interface ReadingSink {
  publish(reading: Reading): void;
  close(): Promise<void>;
}
