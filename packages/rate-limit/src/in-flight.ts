/**
 * A rule's requests in flight: send number to the latest instant each can be counted at, in send order (so those
 * instants rise). Those past their instant leave from the front; a released one leaves from anywhere. Both cost O(1)
 * amortised however many are in flight: a Map walked from its start would step over every released one each time.
 */
export class InFlight {
  private latestBySeq = new Map<number, number>();
  private order: number[] = [];
  private head = 0;
  /** The latest instant of the newest request: no request in flight can be counted later. */
  last = Number.NEGATIVE_INFINITY;

  get size(): number {
    return this.latestBySeq.size;
  }

  add(seq: number, latest: number): void {
    this.latestBySeq.set(seq, latest);
    this.order.push(seq);
    this.last = Math.max(this.last, latest);
    // Released requests behind one still in flight stay listed until the front reaches them: when they are most of the
    // list, it is rebuilt from those in flight (amortised O(1), and memory follows what is in flight).
    if (this.order.length - this.head > 2 * this.latestBySeq.size + 64) {
      this.order = this.order.slice(this.head).filter((s) => this.latestBySeq.has(s));
      this.head = 0;
    }
  }

  /** Takes a request out when released; false when it was not in flight (past its instant, or never counted). */
  delete(seq: number): boolean {
    const deleted = this.latestBySeq.delete(seq);
    if (!this.latestBySeq.size) this.last = Number.NEGATIVE_INFINITY;
    return deleted;
  }

  /** Takes out, oldest first, the requests whose latest instant is past by `now`, and gives each to `counted`. */
  takeDue(now: number, counted: (latest: number) => void): void {
    const { order } = this;
    while (this.head < order.length) {
      const seq = order[this.head] as number;
      const latest = this.latestBySeq.get(seq);
      if (latest !== undefined) {
        if (latest > now) break;
        this.latestBySeq.delete(seq);
        counted(latest);
      }
      this.head++;
    }
    // The list is cut once half of it is gone, and at least 64: memory follows what is in flight, and a request that comes
    // and goes alone copies nothing.
    if (this.head >= 64 && this.head * 2 >= order.length) {
      this.order = order.slice(this.head);
      this.head = 0;
    }
    if (!this.latestBySeq.size) this.last = Number.NEGATIVE_INFINITY;
  }
}
