-- DropIndex
DROP INDEX "runs_schedule_id_created_at_id_idx";

-- DropIndex
DROP INDEX "runs_parent_run_id_idx";

-- DropIndex
DROP INDEX "run_steps_spend_idx";

-- CreateIndex
CREATE INDEX "runs_schedule_id_created_at_id_idx" ON "runs"("schedule_id", "created_at" DESC, "id" DESC) WHERE (schedule_id IS NOT NULL);

-- CreateIndex
CREATE INDEX "runs_parent_run_id_idx" ON "runs"("parent_run_id") WHERE (parent_run_id IS NOT NULL);

-- CreateIndex
CREATE INDEX "run_steps_spend_idx" ON "run_steps"("called_at", "pipeline_id", "provider", "model", "cost", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "spent_in_turns") WHERE (called_at IS NOT NULL);

-- DropIndex
DROP INDEX "runs_pipeline_id_idempotency_key_key";

-- CreateIndex
CREATE UNIQUE INDEX "runs_pipeline_id_idempotency_key_key" ON "runs"("pipeline_id", "idempotency_key") WHERE (idempotency_key IS NOT NULL);
