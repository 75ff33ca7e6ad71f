-- DropIndex
DROP INDEX "run_steps_spend_idx";

-- AlterTable
ALTER TABLE "run_steps" ADD COLUMN     "pipeline_id" TEXT;

-- Backfill: every step that made a model call gets its run's pipeline and a call time. Steps
-- recorded before called_at existed take the time they started: their (first) call was made then.
-- Reused steps (branches) made no call and stay out of spend, as do approval steps and steps
-- that failed before any model answered.
UPDATE "run_steps" s
   SET "called_at" = COALESCE(s."called_at", s."started_at", s."finished_at"), "pipeline_id" = r."pipeline_id"
  FROM "runs" r
 WHERE r."id" = s."run_id"
   AND (s."called_at" IS NOT NULL
        OR (s."type" = 'agent' AND NOT s."reused" AND s."finished_at" IS NOT NULL
            AND (s."status" = 'succeeded' OR s."cost" IS NOT NULL
                 OR s."input_tokens" + s."output_tokens" + s."cache_read_tokens" + s."cache_write_tokens" > 0)));

-- CreateIndex
CREATE INDEX "run_steps_spend_idx" ON "run_steps"("called_at", "pipeline_id", "provider", "model", "cost", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens");
