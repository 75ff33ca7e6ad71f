/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Session } from '../auth/session.ts';
import { CsrfField } from './csrf-field.tsx';

interface RunFormProps {
  session: Session;
  pipelineId?: string;
  pipelines?: { id: string; name: string }[];
  /** What was typed before a refusal, shown again. */
  input?: string;
  /** Why this pipeline cannot run now (orphaned): the form is shown disabled, with the reason. */
  disabledReason?: string;
}

/** Submits a run of one pipeline (or of the pipeline picked in the select, on the runs page). */
export function RunForm({ session, pipelineId, pipelines, input = '', disabledReason }: RunFormProps) {
  const disabled = disabledReason !== undefined;
  return (
    <form method="post" action="/runs" class="panel" id="run-form">
      <CsrfField token={session.csrfToken} />
      {disabled && (
        <p class="notice warn" id="run-disabled">
          {disabledReason}
        </p>
      )}
      {pipelines ? (
        <>
          <label for="pipelineId">Pipeline</label>
          <select id="pipelineId" name="pipelineId" required>
            <option value="" disabled selected={!pipelineId}>
              Choose a pipeline
            </option>
            {pipelines.map((pipeline) => (
              <option value={pipeline.id} selected={pipeline.id === pipelineId}>
                {pipeline.name}
              </option>
            ))}
          </select>
        </>
      ) : (
        <input type="hidden" name="pipelineId" value={pipelineId} />
      )}
      <label for="input">Input</label>
      <textarea id="input" name="input" rows={4} required placeholder="What should the pipeline work on?" readonly={disabled}>
        {input}
      </textarea>
      <label for="delaySeconds">Start after (seconds, optional)</label>
      <input id="delaySeconds" name="delaySeconds" type="number" min="0" step="1" inputmode="numeric" placeholder="now" disabled={disabled} />
      <label for="maxCostUsd">Budget in USD (optional)</label>
      <input id="maxCostUsd" type="text" inputmode="decimal" name="maxCostUsd" placeholder="the pipeline's, if it has one" maxlength={32} readonly={disabled} />
      <div class="actions">
        <button type="submit" id="run-button" disabled={disabled}>
          Run pipeline
        </button>
      </div>
    </form>
  );
}
