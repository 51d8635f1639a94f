/**
 * A market's pricing curve as a small SVG chart: the annual rate (the
 * client's `rateAt`, the program's curve) against utilization, the kink
 * marked, today's point at the market's active cover, and optionally the
 * stretch of the curve a purchase of `buying` would move through.
 */
import { kinkCover, rateAt, type Curve } from '@coverage-pool/client';
import { svg } from './ui';

const W = 280;
const H = 150;
const PAD = { left: 38, right: 10, top: 12, bottom: 26 };

export function curveChart(curve: Curve, activeCover: bigint, capacity: bigint, buying = 0n): SVGSVGElement {
  // rates depend on utilization only: without capacity yet, draw on a nominal one
  const cap = capacity > 0n ? capacity : 1_000_000_000_000n;
  const steps = 100;
  const points = Array.from({ length: steps + 1 }, (_, i) => {
    const cover = (cap * BigInt(i)) / BigInt(steps);
    return { u: i / steps, rate: Number(rateAt(curve, cover, cap)) };
  });
  const maxRate = Math.max(...points.map((p) => p.rate), 1);
  const top = Math.ceil(maxRate / 500) * 500; // a round ceiling in bps (5 % steps)
  const x = (u: number) => PAD.left + u * (W - PAD.left - PAD.right);
  const y = (bps: number) => H - PAD.bottom - (bps / top) * (H - PAD.top - PAD.bottom);
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.u).toFixed(1)},${y(p.rate).toFixed(1)}`).join('');
  const kinkU = Number((kinkCover(curve, cap) * 10_000n) / cap) / 10_000;
  const todayU = Math.min(1, Number((activeCover * 10_000n) / cap) / 10_000);
  const todayRate = Number(rateAt(curve, activeCover < cap ? activeCover : cap, cap));

  const grid = [0, top / 2, top].map((r) =>
    svg('g', {},
      svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(r), y2: y(r), class: 'grid' }),
      svg('text', { x: PAD.left - 6, y: y(r) + 4, class: 'axis', 'text-anchor': 'end' }, `${r / 100}%`),
    ),
  );
  const xTicks = [0, 0.5, 1].map((u) =>
    svg('text', { x: x(u), y: H - 8, class: 'axis', 'text-anchor': u === 0 ? 'start' : u === 1 ? 'end' : 'middle' }, `${u * 100}%`),
  );
  const label = `Annual rate ${(todayRate / 100).toFixed(2)} % at ${(todayU * 100).toFixed(1)} % utilization`;
  // the purchase's stretch: from today's cover to today's + the amount (within capacity)
  const endU = Math.min(1, Number(((activeCover + buying) * 10_000n) / cap) / 10_000);
  const stretch = points.filter((p) => p.u >= todayU && p.u <= endU);
  const span =
    buying > 0n && capacity > 0n && endU > todayU
      ? [
          svg('path', {
            d:
              `M${x(todayU).toFixed(1)},${y(0).toFixed(1)}` +
              [{ u: todayU, rate: todayRate }, ...stretch, { u: endU, rate: Number(rateAt(curve, activeCover + buying < cap ? activeCover + buying : cap, cap)) }]
                .map((p) => `L${x(p.u).toFixed(1)},${y(p.rate).toFixed(1)}`)
                .join('') +
              `L${x(endU).toFixed(1)},${y(0).toFixed(1)}Z`,
            class: 'buying',
          }),
        ]
      : [];
  return svg(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'curve', role: 'img', 'aria-label': label },
    svg('title', {}, label),
    ...grid,
    ...xTicks,
    ...span,
    svg('line', { x1: x(kinkU), x2: x(kinkU), y1: PAD.top, y2: H - PAD.bottom, class: 'kink' }),
    svg('text', { x: x(kinkU) - 4, y: PAD.top + 9, class: 'axis', 'text-anchor': 'end' }, 'kink'),
    svg('path', { d: path, class: 'line' }),
    svg('circle', { cx: x(todayU), cy: y(todayRate), r: 5, class: 'today' }),
    svg('text', { x: Math.min(x(todayU) + 8, W - 60), y: y(todayRate) - 8, class: 'today-label' }, `today ${(todayRate / 100).toFixed(2)}%`),
  );
}
