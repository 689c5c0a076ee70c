import type { Lease } from './store.js';

/** A request asking for a slot: what it counts per, and what the pipeline said of it. */
export interface Call {
  key: string;
  endpoint: string;
  request: Request;
  /** The pipeline needs it before the others (a token exchange): it is served first, and may take a blocked request's slot. */
  priority?: boolean;
  /** It exchanges an API key for a token: counted unless the server is known not to count such requests. */
  tokenExchange?: boolean;
  /** Told when it starts to wait (`ctx.state.onWait`). */
  onWait?: () => void;
  /** It waited for its key (the rate, a pause), not only for a slot of its endpoint: what held it back was binding. */
  waitedForKey?: boolean;
}

/** A request waiting for a slot of its key. */
export interface Waiter extends Call {
  /** When it joined the queue (clock ms), and its place in the key's arrival order. */
  at: number;
  order: number;
  done?: boolean;
  /** What the wait ends with: a slot, else `error`. */
  lease?: Lease;
  error?: unknown;
  /** Wakes the waiter's own loop: it left the queue, became the next in line, or the key's due time changed. */
  poke?: () => void;
  off(): void;
}

/** What offering a slot to a waiter came to: it took one, or nothing of the key can go, or nothing of its endpoint can. */
export type Offer = 'taken' | 'key-blocked' | 'endpoint-blocked';

/** A first-in first-out list that drops from its front in constant time. */
class Line<T> {
  private items: T[] = [];
  private start = 0;
  get length() {
    return this.items.length - this.start;
  }
  first(): T | undefined {
    return this.items[this.start];
  }
  push(item: T) {
    this.items.push(item);
  }
  unshift(item: T) {
    if (this.start > 0) this.items[--this.start] = item;
    else this.items.unshift(item);
  }
  shift() {
    const item = this.items[this.start++];
    // The array is cut when half of it is gone: amortised constant time, and memory follows the length.
    if (this.start * 2 >= this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
    return item;
  }
  toArray() {
    return this.items.slice(this.start);
  }
}

/**
 * One key's waiting requests: first come first served per endpoint, endpoints taken in the order of their oldest
 * waiter, and a lane in front for the requests the pipeline needs first. Offering slots costs a step per request that
 * goes and per endpoint found full, not per request waiting: a million waiters cost what ten do.
 */
export class WaitingQueue {
  /** Requests waiting (done ones excluded). */
  size = 0;
  /** When the next in line should look again; its timer is set to it. */
  due = Number.POSITIVE_INFINITY;
  /** A scan is running (the store may answer asynchronously); `again`: run another when it ends. */
  scanning = false;
  again = false;
  private front = new Line<Waiter>();
  private endpoints = new Map<string, Line<Waiter>>();
  /** Endpoints by the order of their oldest waiter: a binary min-heap of [order, endpoint], entries checked when read. */
  private heap: [number, string][] = [];
  private nextOrder = 0;

  add(waiter: Omit<Waiter, 'order'>, inFront: boolean): Waiter {
    const w = waiter as Waiter;
    w.order = this.nextOrder++;
    this.size++;
    if (inFront) this.front.unshift(w);
    else {
      let line = this.endpoints.get(w.endpoint);
      if (!line) {
        this.endpoints.set(w.endpoint, (line = new Line()));
        this.pushHeap(w.order, w.endpoint);
      }
      line.push(w);
    }
    return w;
  }

  /** Marks the waiter gone; it leaves its line when it reaches the front. */
  remove(w: Waiter): boolean {
    if (w.done) return false;
    w.done = true;
    this.size--;
    return true;
  }

  /** The waiter that keeps the key's timer: the next one slots are offered to. */
  next(): Waiter | undefined {
    while (this.front.length && this.front.first()?.done) this.front.shift();
    const first = this.front.first();
    if (first) return first;
    return this.topLine()?.first();
  }

  /**
   * The waiters to offer slots to, in order, each told what its offer came to: the front lane, then each endpoint's
   * oldest waiter, oldest first, until the key is blocked. An endpoint found full is passed over for the rest of the
   * scan, so its later waiters wait behind its first. A generator, so a store that answers at once is driven without a
   * promise and a scan of it runs to its end at once.
   */
  *inOrder(): Generator<Waiter, void, Offer> {
    const full = new Set<string>();
    for (const w of this.front.toArray()) {
      if (w.done || full.has(w.endpoint)) continue;
      const result = yield w;
      if (result === 'key-blocked') return;
      if (result === 'endpoint-blocked') full.add(w.endpoint);
    }
    const passed: string[] = [];
    try {
      for (let line = this.topLine(); line; line = this.topLine()) {
        const [, endpoint] = this.heap[0] as [number, string];
        if (full.has(endpoint)) {
          passed.push(endpoint);
          this.popHeap();
          continue;
        }
        const result = yield line.first() as Waiter;
        if (result === 'key-blocked') return;
        if (result === 'endpoint-blocked') full.add(endpoint);
      }
    } finally {
      for (const endpoint of passed) {
        const first = this.liveFirst(endpoint);
        if (first) this.pushHeap(first.order, endpoint);
      }
    }
  }

  /** Every waiter still waiting, front lane first (for close()). */
  all(): Waiter[] {
    const lines = [this.front, ...this.endpoints.values()];
    return lines.flatMap((line) => line.toArray()).filter((w) => !w.done);
  }

  // The first waiter of the endpoint still waiting, dropping the gone ones before it; the line goes once empty.
  private liveFirst(endpoint: string): Waiter | undefined {
    const line = this.endpoints.get(endpoint);
    if (!line) return undefined;
    while (line.length && line.first()?.done) line.shift();
    if (line.length) return line.first();
    this.endpoints.delete(endpoint);
    return undefined;
  }

  // The line of the endpoint whose oldest waiter came first, with the heap's top made current.
  private topLine(): Line<Waiter> | undefined {
    while (this.heap.length) {
      const [order, endpoint] = this.heap[0] as [number, string];
      const first = this.liveFirst(endpoint);
      if (first && first.order === order) return this.endpoints.get(endpoint);
      this.popHeap();
      if (first) this.pushHeap(first.order, endpoint);
    }
    return undefined;
  }

  // The heap moves a hole rather than swapping pairs: no array is made per step.
  private pushHeap(order: number, endpoint: string) {
    const heap = this.heap;
    const item: [number, string] = [order, endpoint];
    let i = heap.length;
    heap.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent] as [number, string];
      if (above[0] <= order) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = item;
  }

  private popHeap() {
    const heap = this.heap;
    const last = heap.pop() as [number, string];
    if (!heap.length) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as [number, string])[0] < (heap[left] as [number, string])[0] ? right : left;
      const below = heap[child] as [number, string];
      if (below[0] >= last[0]) break;
      heap[i] = below;
      i = child;
    }
    heap[i] = last;
  }
}
