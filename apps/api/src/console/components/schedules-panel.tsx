/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { ScheduleJson } from '@conveyor/core';
import type { Session } from '../auth/session.ts';
import { asText, formatDate } from '../format.ts';
import { CsrfField } from './csrf-field.tsx';
import { EmptyState, Notice } from './notice.tsx';

interface SchedulesPanelProps {
  session: Session;
  pipelineId: string;
  schedules: ScheduleJson[];
  /** Why the last change was refused. */
  error?: string | undefined;
}

const preview = (value: unknown) => {
  const text = asText(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
};

/** A pipeline's schedules: each with its next fire times, enable/disable and delete; and a form for a new one. */
export function SchedulesPanel({ session, pipelineId, schedules, error }: SchedulesPanelProps) {
  const base = `/pipelines/${pipelineId}/schedules`;
  return (
    <section id="schedules">
      {error && (
        <Notice kind="error">
          <span id="schedule-error">{error}</span>
        </Notice>
      )}
      {schedules.length === 0 ? (
        <EmptyState>No schedules: this pipeline runs only when asked.</EmptyState>
      ) : (
        <table class="responsive" id="schedule-list">
          <thead>
            <tr>
              <th>Cron</th>
              <th>Input</th>
              <th>Next runs</th>
              <th>Status</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {schedules.map((schedule) => (
              <tr data-schedule={schedule.id}>
                <td data-label="Cron">
                  <span class="mono">{schedule.cron}</span>
                  <div class="small muted">{schedule.timezone}</div>
                </td>
                <td data-label="Input">
                  <div class="preview">{preview(schedule.input)}</div>
                </td>
                <td data-label="Next runs" class="small next-runs">
                  {schedule.enabled ? schedule.nextRunTimes.slice(0, 3).map((time) => <div>{formatDate(time)}</div>) : <span class="muted">disabled</span>}
                </td>
                <td data-label="Status">
                  <span class={`badge ${schedule.enabled ? 'succeeded' : 'canceled'} schedule-status`}>{schedule.enabled ? 'enabled' : 'disabled'}</span>
                </td>
                <td data-label="">
                  <div class="actions flush">
                    <form method="post" action={`${base}/${schedule.id}/${schedule.enabled ? 'disable' : 'enable'}`}>
                      <CsrfField token={session.csrfToken} />
                      <button type="submit" class="secondary schedule-toggle">
                        {schedule.enabled ? 'Disable' : 'Enable'}
                      </button>
                    </form>
                    <form method="post" action={`${base}/${schedule.id}/delete`}>
                      <CsrfField token={session.csrfToken} />
                      <button type="submit" class="danger schedule-delete">
                        Delete
                      </button>
                    </form>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form method="post" action={base} class="panel" id="schedule-form">
        <CsrfField token={session.csrfToken} />
        <label for="schedule-cron">Cron</label>
        <input id="schedule-cron" name="cron" required class="mono" placeholder="0 9 * * 1-5" />
        <span class="hint">5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first.</span>
        <label for="schedule-timezone">Time zone</label>
        <input id="schedule-timezone" name="timezone" value="UTC" placeholder="Europe/Paris" />
        <label for="schedule-input">Input</label>
        <textarea id="schedule-input" name="input" rows={3} required placeholder="What each run works on"></textarea>
        <div class="actions">
          <button type="submit" id="schedule-create">
            Add schedule
          </button>
        </div>
      </form>
    </section>
  );
}
