import { FLOOR_COUNTED, FLOOR_DECISION } from './floor.js';
import type { HttpRow, MicroResult, Results, Target } from './results.js';

/** Issue 7's targets, judged on one run's figures. */

const x = (value: number) => `${value.toFixed(3)}×`;
const us = (value: number) => `${value.toFixed(1)} µs`;
/** The throughput figure the issue defines, with the CPU-time estimate beside it. */
const added = (row: HttpRow) =>
  `${us(row.addedUs!)}${row.cpuAddedUs === undefined ? '' : ` (CPU per request: +${us(row.cpuAddedUs)})`}`;
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
  const floor1 = row(results, 201);
  const floorFluid = row(results, 202);
  const floorKoa = row(results, 203);
  const floorFluidDecision = row(results, 204);
  const micro = (name: string) => results.micro?.results.find((r) => r.name === name);
  const micro4 = micro('4 × 2');
  const microFloors = [micro(FLOOR_COUNTED), micro(FLOOR_DECISION)];
  const redis = results.redisMicro?.results;
  const redisFigure = (subject: string, mode: string) =>
    redis?.find((r) => r.subject === subject && r.mode === mode)?.median;
  const trips = results.redisMicro?.roundTrips?.['tollgate, 4 × 2'];
  const memory = results.memory?.window;
  const flood = results.flood;
  const peers = erl === undefined || rlf === undefined ? undefined : Math.max(erl.ratio!, rlf.ratio!);

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
        measured: added(one!),
        met: one!.addedUs! <= 5,
      })),
      floor1 && added(floor1),
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
        measured: added(fluid!),
        met: fluid!.addedUs! <= 10,
      })),
      floorFluid &&
        `${added(floorFluid)}${floorFluidDecision === undefined ? '' : `; with a Decision ${added(floorFluidDecision)}`}`,
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
    withFloor(
      check('Koa, memory', '4×2 ≤ 10 µs added per request over bare Koa', [koa], () => ({
        measured: added(koa!),
        met: koa!.addedUs! <= 10,
      })),
      floorKoa && added(floorKoa),
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
        ? `${perSecond(cpuRate(microFloors[1]!))} with a Decision of the documented shape, ${perSecond(cpuRate(microFloors[0]!))} counting only`
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
