// A binary min-heap of items ordered by `at`, then by insertion: the bench's clocks and event loops keep their timers in
// one. It moves a hole rather than swapping pairs, so a push or pop makes no garbage.
export function createMinHeap() {
  const items = [];
  let seq = 0;
  const before = (a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  return {
    get size() {
      return items.length;
    },
    peek: () => items[0],
    push(item) {
      item.seq = seq++;
      let i = items.length;
      items.push(item);
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!before(item, items[parent])) break;
        items[i] = items[parent];
        i = parent;
      }
      items[i] = item;
      return item;
    },
    pop() {
      const top = items[0];
      const last = items.pop();
      if (items.length) {
        let i = 0;
        for (;;) {
          const left = 2 * i + 1;
          if (left >= items.length) break;
          const right = left + 1;
          const child = right < items.length && before(items[right], items[left]) ? right : left;
          if (!before(items[child], last)) break;
          items[i] = items[child];
          i = child;
        }
        items[i] = last;
      }
      return top;
    },
    values: () => items,
  };
}
