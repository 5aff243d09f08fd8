interface HeapNode<T> {
  dueAt: number;
  seq: number;
  item: T;
}

/** Min-heap by due time; equal due times keep insertion order (the sequence number breaks ties). */
export class DelayHeap<T> {
  readonly #nodes: HeapNode<T>[] = [];
  #seq = 0;

  get length(): number {
    return this.#nodes.length;
  }

  /** Due time of the earliest item, or undefined when empty. */
  peekDueAt(): number | undefined {
    return this.#nodes[0]?.dueAt;
  }

  push(dueAt: number, item: T): void {
    const nodes = this.#nodes;
    nodes.push({ dueAt, seq: this.#seq++, item });
    let i = nodes.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(nodes[i]!, nodes[parent]!)) break;
      [nodes[i], nodes[parent]] = [nodes[parent]!, nodes[i]!];
      i = parent;
    }
  }

  /** Removes and returns every item due at or before `now`, earliest first. */
  popDue(now: number): T[] {
    const due: T[] = [];
    while (this.#nodes.length > 0 && this.#nodes[0]!.dueAt <= now) due.push(this.#pop());
    return due;
  }

  #pop(): T {
    const nodes = this.#nodes;
    const top = nodes[0]!;
    const last = nodes.pop()!;
    if (nodes.length > 0) {
      nodes[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        if (l < nodes.length && less(nodes[l]!, nodes[smallest]!)) smallest = l;
        if (r < nodes.length && less(nodes[r]!, nodes[smallest]!)) smallest = r;
        if (smallest === i) break;
        [nodes[i], nodes[smallest]] = [nodes[smallest]!, nodes[i]!];
        i = smallest;
      }
    }
    return top.item;
  }
}

function less<T>(a: HeapNode<T>, b: HeapNode<T>): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);
}
