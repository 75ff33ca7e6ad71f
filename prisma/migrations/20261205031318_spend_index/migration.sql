-- CreateIndex
CREATE INDEX "run_steps_spend_idx" ON "run_steps"("finished_at", "run_id", "provider", "model", "cost", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens");
