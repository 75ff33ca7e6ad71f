import { Decimal } from '@conveyor/core';

/** Where one series' share of one day sits in a stacked bar chart, in chart units. */
export interface BarSegment {
  day: string;
  series: string;
  /** Index into the palette (CSS classes series-0 … series-7; the rest share series-other). */
  seriesIndex: number;
  cost: string;
  y: number;
  height: number;
}

export interface StackedChart {
  width: number;
  height: number;
  barWidth: number;
  /** x of each day's bar, in order. */
  bars: Array<{ day: string; x: number; total: string }>;
  segments: BarSegment[];
  /** Series by total cost, dearest first (the legend). */
  series: Array<{ name: string; index: number; total: string }>;
  /** Horizontal grid lines with their USD labels. */
  ticks: Array<{ y: number; label: string }>;
  max: string;
}

export const paletteSize = 8;

/** A round axis maximum ≥ `max`: 1, 2 or 5 × a power of ten. */
export function niceCeiling(max: Decimal): Decimal {
  if (max.lessThanOrEqualTo(0)) return new Decimal(1);
  const power = new Decimal(10).pow(Math.floor(Math.log10(max.toNumber())));
  for (const step of [1, 2, 5, 10]) {
    const candidate = power.times(step);
    if (candidate.greaterThanOrEqualTo(max)) return candidate;
  }
  return power.times(10);
}

/**
 * Lays out cost per day stacked by series. Days without spend stay in the chart
 * as empty slots; amounts are exact decimals until they become coordinates.
 */
export function stackedChart(days: string[], rows: Array<{ day: string; series: string; cost: string }>, size = { width: 720, height: 240 }): StackedChart {
  const totals = new Map<string, Decimal>();
  const perDay = new Map<string, Decimal>();
  for (const row of rows) {
    totals.set(row.series, (totals.get(row.series) ?? new Decimal(0)).plus(row.cost));
    perDay.set(row.day, (perDay.get(row.day) ?? new Decimal(0)).plus(row.cost));
  }
  const series = [...totals]
    .sort(([a, x], [b, y]) => y.comparedTo(x) || a.localeCompare(b))
    .map(([name, total], index) => ({ name, index, total: total.toString() }));
  const indexOf = new Map(series.map((s) => [s.name, s.index]));
  const max = niceCeiling(Decimal.max(new Decimal(0), ...perDay.values()));
  const slot = size.width / Math.max(days.length, 1);
  const barWidth = Math.max(1, slot * 0.7);
  const scale = (cost: Decimal) => cost.dividedBy(max).times(size.height).toNumber();

  const segments: BarSegment[] = [];
  const bars = days.map((day, i) => {
    const x = i * slot + (slot - barWidth) / 2;
    let stacked = new Decimal(0);
    const dayRows = rows.filter((r) => r.day === day).sort((a, b) => indexOf.get(a.series)! - indexOf.get(b.series)!);
    for (const row of dayRows) {
      const bottom = scale(stacked);
      stacked = stacked.plus(row.cost);
      const top = scale(stacked);
      segments.push({ day, series: row.series, seriesIndex: indexOf.get(row.series)!, cost: row.cost, y: size.height - top, height: top - bottom });
    }
    return { day, x, total: (perDay.get(day) ?? new Decimal(0)).toString() };
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => ({ y: size.height - f * size.height, label: max.times(f).toString() }));
  return { width: size.width, height: size.height, barWidth, bars, segments, series, ticks, max: max.toString() };
}
