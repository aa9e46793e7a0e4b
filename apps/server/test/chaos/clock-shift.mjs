/**
 * Preloaded into a server child process (`node --import`): shifts its wall clock by an offset in
 * ms read from the file CLOCK_SHIFT_FILE on each SIGUSR2, and says so on stderr
 * ("clock-shift: <offset>"). This is what an NTP step or `date -s` does to a process: Date (the
 * wall clock, CLOCK_REALTIME) jumps; the monotonic clock behind performance.now() and every
 * timer does not. libfaketime would do the same from outside, but it is not on every machine the
 * tests run on.
 */
import { readFileSync } from 'node:fs'

const file = process.env.CLOCK_SHIFT_FILE
const RealDate = Date
const realNow = RealDate.now.bind(RealDate)
let offset = 0

class ShiftedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(realNow() + offset)
    else super(...args)
  }
  static now() {
    return realNow() + offset
  }
}
globalThis.Date = ShiftedDate

process.on('SIGUSR2', () => {
  offset = Number(readFileSync(file, 'utf8'))
  process.stderr.write(`clock-shift: ${offset}\n`)
})
