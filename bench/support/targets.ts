import { FLOOR_COUNTED, FLOOR_DECISION, FLOOR_SAFE_KEYS } from './floor.js';
import type { HttpRow, MicroResult, Results, Target } from './results.js';

/** Issue 7's targets, judged on one run's figures. */

const x = (value: number) => `${value.toFixed(3)}×`;
const us = (value: number) => `${value.toFixed(1)} µs`;
/** The throughput figure the issue defines, with the CPU-time estimate beside it. */
const added = (row: HttpRow) =>
  `${us(row.addedUs!)}${row.cpuAddedUs === undefined ? '' : ` (CPU per request: +${us(row.cpuAddedUs)})`}`;
/** `added`, led by the figure at the issue's speed when this run's bare Express speed is known. */
const addedAt = (row: HttpRow, scale: ((us: number) => number) | undefined) =>
  scale === undefined
    ? added(row)
    : `**${us(scale(row.addedUs!))}** at ${REFERENCE_BARE_EXPRESS_RPS / 1000}k req/s; here ${added(row)}`;
const perSecond = (value: number) => `${Math.round(value).toLocaleString('en')}/s`;

function row(results: Results, id: number): HttpRow | undefined {
  const found = results.http.find((r) => r.id === id);
  return found?.ratio === undefined ? undefined : found;
}

function check(
  area: string,
  target: string,
  inputs: ReadonlyArray<unknown>,
  judge: () => { measured: string; met: boolean },
): Target {
  if (inputs.some((input) => input === undefined))
    return { area, target, measured: 'not measured', met: undefined };
  return { area, target, ...judge() };
}

/** A target with its floor's figure beside it, when the floor ran. */
function withFloor(target: Target, floor: string | undefined): Target {
  return floor === undefined ? target : { ...target, floor };
}

const cpuRate = (result: MicroResult) => result.cpuMedian ?? result.median;

/**
 * The issue's µs targets are stated for a machine on which bare Express 5 answers about
 * 12–13k requests a second, and it asks for "ratios measured in the same run": a µs target is
 * the ratio it makes at that speed (5 µs over 80 µs is 0.941×). This VM's speed differs from
 * day to day by up to four times, so a µs figure is judged at the issue's speed: scaled by this
 * run's bare Express time per request against 80 µs. Koa's are scaled by the same factor, the
 * machine's, not Koa's own.
 */
export const REFERENCE_BARE_EXPRESS_RPS = 12_500;

/** This run's bare Express req/s, the machine's speed that µs figures are scaled from. */
export function bareExpressRps(results: Results): number | undefined {
  return results.http.find((r) => r.id === 1)?.rps;
}

/** What a µs figure of this run would be at the issue's speed: see REFERENCE_BARE_EXPRESS_RPS. */
function atReferenceSpeed(results: Results): ((us: number) => number) | undefined {
  const bare = bareExpressRps(results);
  return bare === undefined ? undefined : (value) => (value * bare) / REFERENCE_BARE_EXPRESS_RPS;
}

export function evaluateTargets(results: Results): Target[] {
  const erl = row(results, 2);
  const rlf = row(results, 3);
  const one = row(results, 4);
  const fluid = row(results, 5);
  const rlf1 = row(results, 8);
  const rlf4 = row(results, 9);
  const tg1 = row(results, 11);
  const tg4 = row(results, 12);
  const koa = row(results, 15);
  const erlSamePolicy = row(results, 301);
  const rlfSamePolicy = row(results, 302);
  const floor1 = row(results, 201);
  const floorFluid = row(results, 202);
  const floorKoa = row(results, 203);
  const floorFluidDecision = row(results, 204);
  const micro = (name: string) => results.micro?.results.find((r) => r.name === name);
  const micro4 = micro('4 × 2');
  const microFloors = [micro(FLOOR_COUNTED), micro(FLOOR_DECISION)];
  const microSafeFloor = micro(FLOOR_SAFE_KEYS);
  const redis = results.redisMicro?.results;
  const redisFigure = (subject: string, mode: string) =>
    redis?.find((r) => r.subject === subject && r.mode === mode)?.median;
  const trips = results.redisMicro?.roundTrips?.['tollgate, 4 × 2'];
  const memory = results.memory?.window;
  const flood = results.flood;
  const peers = erl === undefined || rlf === undefined ? undefined : Math.max(erl.ratio!, rlf.ratio!);
  const scale = atReferenceSpeed(results);
  const addedUs = (row: HttpRow) => (scale === undefined ? row.addedUs! : scale(row.addedUs!));

  return [
    withFloor(
      check('Memory, Express', '1 rule ≥ 0.95× bare Express', [one], () => ({
        measured: x(one!.ratio!),
        met: one!.ratio! >= 0.95,
      })),
      floor1 && x(floor1.ratio!),
    ),
    withFloor(
      check('Memory, Express', '1 rule ≤ 5 µs added per request', [one], () => ({
        measured: addedAt(one!, scale),
        met: addedUs(one!) <= 5,
      })),
      floor1 && addedAt(floor1, scale),
    ),
    withFloor(
      check('Memory, Express', '4×2 + burst ≥ 0.90× bare Express', [fluid], () => ({
        measured: x(fluid!.ratio!),
        met: fluid!.ratio! >= 0.9,
      })),
      floorFluid &&
        `${x(floorFluid.ratio!)}${floorFluidDecision === undefined ? '' : `; with a Decision ${x(floorFluidDecision.ratio!)}`}`,
    ),
    withFloor(
      check('Memory, Express', '4×2 + burst ≤ 10 µs added per request', [fluid], () => ({
        measured: addedAt(fluid!, scale),
        met: addedUs(fluid!) <= 10,
      })),
      floorFluid &&
        `${addedAt(floorFluid, scale)}${floorFluidDecision === undefined ? '' : `; with a Decision ${addedAt(floorFluidDecision, scale)}`}`,
    ),
    check(
      'Memory, Express',
      '1 rule ahead of express-rate-limit and rate-limiter-flexible',
      [one, peers],
      () => ({
        measured: `${x(one!.ratio!)} vs ${x(erl!.ratio!)} (ERL), ${x(rlf!.ratio!)} (RLF)`,
        met: one!.ratio! > peers!,
      }),
    ),
    check(
      'Memory, Express',
      '4×2 + burst ahead of express-rate-limit and rate-limiter-flexible',
      [fluid, peers],
      () => ({
        measured: `${x(fluid!.ratio!)} vs ${x(erl!.ratio!)} (ERL), ${x(rlf!.ratio!)} (RLF)`,
        met: fluid!.ratio! > peers!,
      }),
    ),
    // Not the issue's reading (it names the peers' scenarios 2 and 3, one rule each): the peers
    // set up for the same policy, as a user weighing them for that policy would run them.
    check(
      'Memory, Express',
      '4×2 + burst ahead of the peers set up for the same policy (scenarios 301, 302; not in the issue)',
      [fluid, erlSamePolicy, rlfSamePolicy],
      () => ({
        measured: `${x(fluid!.ratio!)} vs ${x(erlSamePolicy!.ratio!)} (ERL, 8 instances), ${x(rlfSamePolicy!.ratio!)} (RLF, 8 limiters)`,
        met: fluid!.ratio! > Math.max(erlSamePolicy!.ratio!, rlfSamePolicy!.ratio!),
      }),
    ),
    withFloor(
      check('Koa, memory', '4×2 ≤ 10 µs added per request over bare Koa', [koa], () => ({
        measured: addedAt(koa!, scale),
        met: addedUs(koa!) <= 10,
      })),
      floorKoa && addedAt(floorKoa, scale),
    ),
    check('Redis', 'the 4×2 policy is one round trip', [trips], () => ({
      measured: `${trips!.perCall.toFixed(2)} commands sent per check (Redis ran ${Object.entries(
        trips!.redisCommandsPerCall,
      )
        .map(([name, calls]) => `${name} ${calls.toFixed(1)}`)
        .join(', ')} per check, inside one script)`,
      met: trips!.perCall <= 1,
    })),
    check('Redis', '4×2 ≥ 1.5× the req/s of 4 stacked RateLimiterRedis', [tg4, rlf4], () => ({
      measured: x(tg4!.ratio! / rlf4!.ratio!),
      met: tg4!.ratio! / rlf4!.ratio! >= 1.5,
    })),
    check('Redis', "4×2 ≥ 0.9× tollgate's own 1-rule Redis figure", [tg4, tg1], () => ({
      measured: x(tg4!.ratio! / tg1!.ratio!),
      met: tg4!.ratio! / tg1!.ratio! >= 0.9,
    })),
    check('Redis', "1-rule check at least as fast as rate-limiter-flexible's (HTTP)", [tg1, rlf1], () => ({
      measured: x(tg1!.ratio! / rlf1!.ratio!),
      met: tg1!.ratio! >= rlf1!.ratio!,
    })),
    ...(['sequential', 'concurrent'] as const).map((mode) => {
      const ours = redisFigure('tollgate, 1 rule', mode);
      const theirs = redisFigure('rate-limiter-flexible, 1 RateLimiterRedis', mode);
      return check(
        'Redis',
        `1-rule check at least as fast as rate-limiter-flexible's (micro, ${mode === 'concurrent' ? '100 concurrent' : mode})`,
        [ours, theirs],
        () => ({
          measured: `${perSecond(ours!)} vs ${perSecond(theirs!)} (${x(ours! / theirs!)})`,
          met: ours! >= theirs!,
        }),
      );
    }),
    withFloor(
      check('Micro', '≥ 1,000,000 memory decisions/s for 4×2 rules on one core', [micro4], () => {
        const rate = cpuRate(micro4!);
        return {
          measured: `${perSecond(rate)} per CPU-second (${perSecond(micro4!.median)} wall-clock)`,
          met: rate >= 1_000_000,
        };
      }),
      microFloors.every((f) => f !== undefined)
        ? `${perSecond(cpuRate(microFloors[1]!))} with a Decision of the documented shape${microSafeFloor === undefined ? '' : ` (${perSecond(cpuRate(microSafeFloor))} from keys made safe)`}, ${perSecond(cpuRate(microFloors[0]!))} counting only`
        : undefined,
    ),
    check(
      'Memory store',
      `≤ 200 bytes of heap per key (${(memory?.keys ?? 1_000_000).toLocaleString('en')} keys, 1 rule)`,
      [memory],
      () => ({
        measured: `${memory!.bytesPerKey.toFixed(0)} bytes`,
        met: memory!.bytesPerKey <= 200,
      }),
    ),
    check(
      'Memory store',
      'bounded under a flood of random keys at the key cap',
      [flood?.heapGrowthAfterCapMB],
      () => {
        const growth = flood!.heapGrowthAfterCapMB!;
        // The overflow counters (one per limit shape) sit beside the capped keys.
        const sizeBounded = flood!.maxSize <= flood!.maxKeys + 16;
        const heapBounded = growth <= Math.max(1, 0.05 * flood!.heapAtCapMinMB!);
        return {
          measured: `size ≤ ${flood!.maxSize.toLocaleString('en')} (cap ${flood!.maxKeys.toLocaleString('en')}), heap ${flood!.heapAtCapMinMB!.toFixed(1)}–${flood!.heapAtCapMaxMB!.toFixed(1)} MB at the cap (growth ${growth.toFixed(2)} MB) over ${flood!.checks.toLocaleString('en')} checks`,
          met: sizeBounded && heapBounded,
        };
      },
    ),
  ];
}
