import { Deadlines, type Waiting } from '../../lib/stores/redis/deadlines.js';

/** A call that records when it timed out, on the fake clock. */
function call(timedOut: number[]): Waiting {
  const waiting: Waiting = {
    deadline: 0,
    settled: false,
    timeOut: () => timedOut.push(Date.now()),
  };
  return waiting;
}

describe('Deadlines: one timer for every call in flight', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  test('a call still waiting times out at its deadline, not a millisecond before', () => {
    const timedOut: number[] = [];
    const deadlines = new Deadlines(100);
    const waiting = call(timedOut);
    deadlines.add(waiting);
    jest.advanceTimersByTime(99);
    expect(timedOut).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(timedOut).toEqual([1_000_100]);
    expect(waiting.settled).toBe(true);
  });

  test('a call answered in time is never timed out', () => {
    const timedOut: number[] = [];
    const deadlines = new Deadlines(100);
    const answered = call(timedOut);
    deadlines.add(answered);
    answered.settled = true;
    jest.advanceTimersByTime(1_000);
    expect(timedOut).toEqual([]);
  });

  test('calls sent at different times each time out at their own deadline, in order', () => {
    const timedOut: number[] = [];
    const deadlines = new Deadlines(100);
    const first = call(timedOut);
    const answered = call(timedOut);
    const third = call(timedOut);
    deadlines.add(first);
    jest.advanceTimersByTime(30);
    deadlines.add(answered);
    jest.advanceTimersByTime(30);
    deadlines.add(third);
    answered.settled = true;
    jest.advanceTimersByTime(1_000);
    expect(timedOut).toEqual([1_000_100, 1_000_160]);
  });

  test('calls answered in order are let go as they settle: the queue holds those in flight', () => {
    const deadlines = new Deadlines(100);
    const calls = Array.from({ length: 5_000 }, () => call([]));
    for (const waiting of calls.slice(0, 10)) deadlines.add(waiting);
    for (let i = 10; i < calls.length; i++) {
      deadlines.add(calls[i]!);
      calls[i - 10]!.settled = true;
      deadlines.release();
      expect(deadlines.size).toBe(10);
    }
  });

  test('answers out of order are let go once the calls before them settle, or when the timer passes', () => {
    const deadlines = new Deadlines(100);
    const calls = Array.from({ length: 5_000 }, () => call([]));
    for (const waiting of calls) deadlines.add(waiting);
    for (const waiting of calls.slice(1)) waiting.settled = true;
    deadlines.release();
    expect(deadlines.size).toBe(5_000);
    calls[0]!.settled = true;
    deadlines.release();
    expect(deadlines.size).toBe(0);
    expect((deadlines as unknown as { waiting: unknown[] }).waiting).toHaveLength(0);
    // The timer, armed for the first call, wakes once, finds nothing and stops.
    jest.advanceTimersByTime(100);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('the timer does not keep the process alive', () => {
    const deadlines = new Deadlines(100);
    const setTimer = jest.spyOn(globalThis, 'setTimeout');
    deadlines.add(call([]));
    const timer = setTimer.mock.results[0]!.value as { hasRef: () => boolean };
    expect(timer.hasRef()).toBe(false);
    setTimer.mockRestore();
  });
});
