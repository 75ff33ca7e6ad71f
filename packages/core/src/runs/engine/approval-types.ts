/** What a pipeline step is: an agent's model call (the default) or a person's approval. */
export type StepType = 'agent' | 'approval';

/** An approval step's settings, as the pipeline defines them. */
export interface ApprovalSettings {
  instructions?: string;
  /** Without a decision this long after the run started waiting, `onTimeout` decides. */
  timeoutSeconds?: number;
  /** Default `reject`. */
  onTimeout?: 'approve' | 'reject';
}

/** Who decided an approval step, when and how; kept on the step. */
export interface ApprovalDecision {
  decision: 'approved' | 'rejected';
  /** The API token's fingerprint (`api:…`), the console user (`console:…`), or `timeout`. */
  by: string;
  /** ISO time. */
  at: string;
  comment?: string;
  /** Decided by the step's timeout. */
  timedOut?: boolean;
}

/** A branch's per-step changes to the agent: keys are step indexes. */
export type StepOverrides = Record<string, { model?: string; systemPrompt?: string }>;
