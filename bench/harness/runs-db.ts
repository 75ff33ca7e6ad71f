import pg from 'pg';
import type { Scope } from './scope.ts';
import { RUN_TABLES } from './environment.ts';
import { sleep } from './processes.ts';

/** Thrown when runs do not all finish within a benchmark's time bound. */
export class RunsTimeoutError extends Error {
  override name = 'RunsTimeoutError';
}

export interface RunTimes {
  total: number;
  succeeded: number;
  failed: number;
  /** Wall-clock ms. */
  firstStartedAt: number;
  lastFinishedAt: number;
}

/** Reads run rows straight from Postgres, the product's source of truth. */
export class RunsDb {
  readonly pool: pg.Pool;

  constructor(scope: Scope, databaseUrl: string) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    scope.defer('close bench database pool', () => this.pool.end());
  }

  async times(pipelineId: string): Promise<RunTimes> {
    const { rows } = await this.pool.query<{ total: string; succeeded: string; failed: string; first: Date | null; last: Date | null }>(
      `SELECT count(*) AS total,
              count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
              count(*) FILTER (WHERE status IN ('failed', 'canceled')) AS failed,
              min(started_at) AS first, max(finished_at) AS last
         FROM runs WHERE pipeline_id = $1`,
      [pipelineId],
    );
    const row = rows[0]!;
    return {
      total: Number(row.total),
      succeeded: Number(row.succeeded),
      failed: Number(row.failed),
      firstStartedAt: row.first?.getTime() ?? Number.NaN,
      lastFinishedAt: row.last?.getTime() ?? Number.NaN,
    };
  }

  /** Waits until `expected` runs of the pipeline have ended (succeeded, failed or canceled). */
  async waitForFinished(pipelineId: string, expected: number, timeoutMs: number): Promise<RunTimes> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const times = await this.times(pipelineId);
      if (times.succeeded + times.failed >= expected) return times;
      if (Date.now() > deadline) {
        throw new RunsTimeoutError(`${times.succeeded + times.failed} of ${expected} runs finished in ${timeoutMs / 1000} s`);
      }
      await sleep(200);
    }
  }

  /**
   * Takes the run tables' statistics, as autovacuum's autoanalyze does on a server where it is on
   * (Postgres's default; this machine runs without it). Called once a benchmark's runs are queued,
   * before they are released: Postgres's generic plans for the engine's statements then see tables
   * the size they are in production, not the empty ones of the benchmark's start.
   */
  async analyze(): Promise<void> {
    await this.pool.query(`ANALYZE ${RUN_TABLES}`);
  }

  /** Cumulative statement counters of this database (Postgres flushes them within about a second). */
  async activity(): Promise<Record<string, number>> {
    const { rows } = await this.pool.query<Record<string, string>>(
      `SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted
         FROM pg_stat_database WHERE datname = current_database()`,
    );
    return Object.fromEntries(Object.entries(rows[0]!).map(([name, value]) => [name, Number(value)]));
  }

  /**
   * Where a run's time went, averaged over the pipeline's succeeded runs (ms): each step from
   * start to finish, the gap between one step's finish and the next one's start, and the run's
   * start to its first step's start and last step's finish to the run's finish.
   */
  async stepTimings(pipelineId: string): Promise<Record<string, number>> {
    const { rows } = await this.pool.query<Record<string, string>>(
      `WITH s AS (
         SELECT r.id, r.started_at AS run_started, r.finished_at AS run_finished, st.index, st.started_at, st.finished_at,
           lag(st.finished_at) OVER (PARTITION BY r.id ORDER BY st.index) AS previous_finished,
           max(st.index) OVER (PARTITION BY r.id) AS last_index
         FROM runs r JOIN run_steps st ON st.run_id = r.id
         WHERE r.pipeline_id = $1 AND r.status = 'succeeded')
       SELECT
         avg(extract(epoch FROM finished_at - started_at) * 1000) AS step,
         avg(extract(epoch FROM started_at - previous_finished) * 1000) FILTER (WHERE index > 0) AS between_steps,
         avg(extract(epoch FROM started_at - run_started) * 1000) FILTER (WHERE index = 0) AS run_start_to_first_step,
         avg(extract(epoch FROM run_finished - finished_at) * 1000) FILTER (WHERE index = last_index) AS last_step_to_run_end
       FROM s`,
      [pipelineId],
    );
    return Object.fromEntries(Object.entries(rows[0]!).map(([name, value]) => [name, Math.round(Number(value) * 10) / 10]));
  }

  /** Keeps the bench database small across invocations (steps and artifacts go with their run). */
  async deleteRuns(pipelineId: string): Promise<void> {
    await this.pool.query('DELETE FROM runs WHERE pipeline_id = $1', [pipelineId]);
  }

  /** The error of one failed run, to explain a benchmark that saw failures. */
  async sampleFailure(pipelineId: string): Promise<unknown> {
    const { rows } = await this.pool.query(`SELECT error FROM runs WHERE pipeline_id = $1 AND status <> 'succeeded' LIMIT 1`, [pipelineId]);
    return rows[0]?.error;
  }
}
