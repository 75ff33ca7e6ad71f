/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import { overviewDays, type OverviewDays, type StackBy, spendOverview } from '../../services/spend.ts';
import { EmptyState } from '../components/notice.tsx';
import { formatCost, formatDate, formatTokens } from '../format.ts';
import { guardedRouter } from '../guard.ts';
import { Layout } from '../layout.tsx';
import { paletteSize, type StackedChart, stackedChart } from '../spend-chart.ts';

const seriesClass = (index: number) => (index < paletteSize ? `series-${index}` : 'series-other');

/** Cost per day as a stacked bar chart: plain SVG, styled by the console's stylesheet, no script. */
function SpendChart({ chart, stack }: { chart: StackedChart; stack: StackBy }) {
  const axis = 64;
  const bottom = 22;
  const top = 10;
  return (
    <figure class="chart panel">
      <svg
        id="spend-chart"
        viewBox={`0 ${-top} ${chart.width + axis} ${chart.height + bottom + top}`}
        role="img"
        aria-labelledby="spend-chart-title"
        preserveAspectRatio="xMinYMin meet"
      >
        <title id="spend-chart-title">{`Cost per day (UTC), stacked by ${stack}`}</title>
        {chart.ticks.map((tick) => (
          <g class="tick">
            <line x1={axis} x2={chart.width + axis} y1={tick.y} y2={tick.y} />
            <text x={axis - 6} y={tick.y + 4} text-anchor="end">
              {formatCost(tick.label)}
            </text>
          </g>
        ))}
        <g transform={`translate(${axis} 0)`}>
          {chart.segments.map((s) => {
            const bar = chart.bars.find((b) => b.day === s.day)!;
            return (
              <rect class={`bar ${seriesClass(s.seriesIndex)}`} data-day={s.day} data-series={s.series} x={bar.x} y={s.y} width={chart.barWidth} height={s.height}>
                <title>{`${s.day} · ${s.series}: ${formatCost(s.cost)}`}</title>
              </rect>
            );
          })}
          {chart.bars.map((bar, i) =>
            i % Math.ceil(chart.bars.length / 8) === 0 ? (
              <text class="day-label" x={bar.x + chart.barWidth / 2} y={chart.height + 16} text-anchor="middle">
                {bar.day.slice(5)}
              </text>
            ) : null,
          )}
        </g>
      </svg>
      <figcaption>
        <ul class="legend">
          {chart.series.map((s) => (
            <li>
              <span class={`swatch ${seriesClass(s.index)}`} aria-hidden="true" />
              {`${s.name} ${formatCost(s.total)}`}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}

function parseDays(value: string | undefined): OverviewDays {
  const days = Number(value);
  return (overviewDays as readonly number[]).includes(days) ? (days as OverviewDays) : 30;
}

export function spendPages() {
  const app = guardedRouter();

  app.get('/', async (c) => {
    const days = parseDays(c.req.query('days'));
    const stack: StackBy = c.req.query('stack') === 'model' ? 'model' : 'provider';
    const overview = await spendOverview(c.get('deps'), { days, stack });
    const rows = overview.byDay.groups.map((g) => ({
      day: g.day!,
      series: stack === 'model' ? `${g.provider ?? '?'}:${g.model ?? '?'}` : (g.provider ?? 'unknown'),
      cost: g.cost,
    }));
    const chart = stackedChart(overview.days, rows);
    const { total } = overview.byDay;
    const link = (params: { days?: number; stack?: StackBy }) => `/spend?days=${params.days ?? days}&stack=${params.stack ?? stack}`;
    return c.html(
      <Layout title="Spend" session={c.get('session')} section="/spend">
        <h1>Spend</h1>
        <nav class="filters" aria-label="Range">
          {overviewDays.map((d) => (
            <a href={link({ days: d })} aria-current={d === days ? 'true' : undefined}>{`Last ${d} days`}</a>
          ))}
        </nav>
        <nav class="filters" aria-label="Stack by">
          {(['provider', 'model'] as const).map((s) => (
            <a href={link({ stack: s })} aria-current={s === stack ? 'true' : undefined}>{`By ${s}`}</a>
          ))}
        </nav>
        <dl class="stats panel">
          <div>
            <dt>Cost</dt>
            <dd id="spend-total">{`${formatCost(total.cost)} USD`}</dd>
          </div>
          <div>
            <dt>Tokens</dt>
            <dd>{formatTokens(total)}</dd>
          </div>
          <div>
            <dt>Model calls</dt>
            <dd>{total.modelCalls.toLocaleString('en-US')}</dd>
          </div>
          <div>
            <dt>Range (UTC)</dt>
            <dd class="small">{`${overview.days[0]} – ${overview.days.at(-1)}`}</dd>
          </div>
        </dl>
        {total.unpricedModelCalls > 0 && (
          <p class="hint">{`${total.unpricedModelCalls} model call(s) used models without a known price: their tokens are counted, their cost is not.`}</p>
        )}
        {total.modelCalls === 0 ? <EmptyState>No spend in this range yet.</EmptyState> : <SpendChart chart={chart} stack={stack} />}

        <h2>Top pipelines</h2>
        {overview.topPipelines.length === 0 ? (
          <EmptyState>No pipeline spent anything in this range.</EmptyState>
        ) : (
          <table class="responsive" id="top-pipelines">
            <thead>
              <tr>
                <th>Pipeline</th>
                <th>Cost</th>
                <th>Tokens</th>
                <th>Model calls</th>
              </tr>
            </thead>
            <tbody>
              {overview.topPipelines.map((p) => (
                <tr data-pipeline={p.pipelineId}>
                  <td data-label="Pipeline">
                    <a href={`/pipelines/${p.pipelineId}`}>{p.pipelineName ?? p.pipelineId}</a>
                  </td>
                  <td data-label="Cost">{formatCost(p.cost)}</td>
                  <td data-label="Tokens" class="small">
                    {formatTokens(p)}
                  </td>
                  <td data-label="Model calls">{p.modelCalls.toLocaleString('en-US')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}

        <h2>Runs stopped by their budget</h2>
        {overview.stoppedByBudget.length === 0 ? (
          <EmptyState>No run was stopped by its budget (maxCostUsd) in this range.</EmptyState>
        ) : (
          <table class="responsive" id="budget-stopped">
            <thead>
              <tr>
                <th>Run</th>
                <th>Pipeline</th>
                <th>Spent</th>
                <th>Budget</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {overview.stoppedByBudget.map((r) => (
                <tr data-run={r.id}>
                  <td data-label="Run" class="mono small">
                    <a href={`/runs/${r.id}`}>{r.id}</a>
                  </td>
                  <td data-label="Pipeline">{r.pipelineName ?? r.pipelineId}</td>
                  <td data-label="Spent">{formatCost(r.cost)}</td>
                  <td data-label="Budget">{formatCost(r.budget)}</td>
                  <td data-label="Created" class="small">
                    {formatDate(r.createdAt)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Layout>,
    );
  });

  return app;
}
