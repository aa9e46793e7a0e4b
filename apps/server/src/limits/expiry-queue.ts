/**
 * Closes things at a deadline with ONE timer for all of them (not a timer per connection):
 * an indexed min-heap of deadlines, and a single setTimeout armed for the earliest. add() and
 * delete() are O(log n); delete() is what Connection close undoes, so a closed connection
 * leaves nothing behind.
 *
 * Used for token expiry: a connection admitted with a token that has `exp` is closed with 4001
 * when that moment passes, however long the socket has been open.
 *
 * Deadlines are wall-clock times (`exp` is, and a new handshake is judged by the wall clock), but
 * timers run on the monotonic clock: when the wall clock jumps (an NTP step), a timer armed for
 * "in 10 minutes" would fire 10 minutes later whatever the clock says. So the timer never waits
 * longer than WALL_CLOCK_CHECK_MS before it looks at the clock again: a jump is followed within
 * that (test/chaos/clock.test.ts).
 */
interface Entry<T> {
  at: number
  item: T
  index: number
}

/** The longest the queue waits without re-reading the wall clock (a later deadline re-arms). */
const WALL_CLOCK_CHECK_MS = 1_000

export class ExpiryQueue<T> {
  private readonly heap: Entry<T>[] = []
  private readonly entries = new Map<T, Entry<T>>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private timerAt = Infinity
  private closed = false

  constructor(
    private readonly onExpire: (item: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size
  }

  /** Schedules (or reschedules) `item` to expire at `at` (ms since the epoch). */
  add(item: T, at: number): void {
    if (this.closed) return
    this.delete(item)
    const entry: Entry<T> = { at, item, index: this.heap.length }
    this.heap.push(entry)
    this.entries.set(item, entry)
    this.up(entry.index)
    this.arm()
  }

  delete(item: T): void {
    const entry = this.entries.get(item)
    if (!entry) return
    this.entries.delete(item)
    const last = this.heap.pop()!
    if (last !== entry) {
      this.heap[entry.index] = last
      last.index = entry.index
      this.down(last.index)
      this.up(last.index)
    }
    if (this.heap.length === 0) this.disarm()
  }

  /** Drops every entry and the timer. */
  close(): void {
    this.closed = true
    this.disarm()
    this.heap.length = 0
    this.entries.clear()
  }

  private readonly fire = (): void => {
    this.timer = undefined
    this.timerAt = Infinity
    const now = this.now()
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const { item } = this.heap[0]!
      this.delete(item)
      // One failing callback must not keep the others alive past their deadline.
      try {
        this.onExpire(item)
      } catch {
        // The callback owns its errors (Connection.close does not throw).
      }
    }
    this.arm()
  }

  private arm(): void {
    if (this.closed || this.heap.length === 0) return
    const at = this.heap[0]!.at
    if (this.timer !== undefined && this.timerAt <= at) return
    this.disarm()
    this.timerAt = at
    this.timer = setTimeout(this.fire, Math.min(WALL_CLOCK_CHECK_MS, Math.max(0, at - this.now())))
    // The queue never keeps a process alive on its own: sockets and the server do.
    this.timer.unref?.()
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.timerAt = Infinity
  }

  private up(i: number): void {
    const h = this.heap
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (h[parent]!.at <= h[i]!.at) break
      this.swap(i, parent)
      i = parent
    }
  }

  private down(i: number): void {
    const h = this.heap
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let min = i
      if (l < h.length && h[l]!.at < h[min]!.at) min = l
      if (r < h.length && h[r]!.at < h[min]!.at) min = r
      if (min === i) return
      this.swap(i, min)
      i = min
    }
  }

  private swap(a: number, b: number): void {
    const h = this.heap
    const x = h[a]!
    const y = h[b]!
    h[a] = y
    h[b] = x
    x.index = b
    y.index = a
  }
}
