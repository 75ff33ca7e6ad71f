-- DropIndex
DROP INDEX "run_steps_spend_idx";

-- AlterTable
ALTER TABLE "run_steps" ADD COLUMN     "spent_in_turns" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "run_step_turns" ADD COLUMN     "called_at" TIMESTAMPTZ(3),
ADD COLUMN     "pipeline_id" TEXT;

-- Backfill: each recorded turn is a model call counted in spend on its own, at its own model.
-- Turns recorded before called_at existed take the time they finished, a moment after their
-- call was made: such a turn called just before midnight and answered after it counts on the
-- next day. Turns recorded from now on take the time their call was made.
UPDATE "run_step_turns" t
   SET "called_at" = t."finished_at", "pipeline_id" = r."pipeline_id"
  FROM "runs" r
 WHERE r."id" = t."run_id";

-- A step's last turn takes the step's call time, which was that turn's own call.
UPDATE "run_step_turns" t
   SET "called_at" = s."called_at"
  FROM "run_steps" s
 WHERE s."run_id" = t."run_id" AND s."index" = t."step_index" AND s."called_at" <= t."finished_at"
   AND t."turn" = (SELECT max(l."turn") FROM "run_step_turns" l WHERE l."run_id" = t."run_id" AND l."step_index" = t."step_index");

-- Their steps are counted by turn: the step row no longer adds their cost and tokens.
UPDATE "run_steps" s
   SET "spent_in_turns" = true
 WHERE EXISTS (SELECT 1 FROM "run_step_turns" t WHERE t."run_id" = s."run_id" AND t."step_index" = s."index");

ALTER TABLE "run_step_turns" ALTER COLUMN "called_at" SET NOT NULL,
ALTER COLUMN "pipeline_id" SET NOT NULL;

-- CreateIndex
CREATE INDEX "run_steps_spend_idx" ON "run_steps"("called_at", "pipeline_id", "provider", "model", "cost", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "spent_in_turns");

-- CreateIndex
CREATE INDEX "run_step_turns_spend_idx" ON "run_step_turns"("called_at", "pipeline_id", "provider", "model", "cost", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens");

-- Spend by day groups by date_bin('1 day', called_at, ...) (see spend.ts): with these statistics the
-- planner knows that expression has a few hundred values, not one per row, and sums each day in a
-- hash table instead of sorting every call of the range first.
CREATE STATISTICS "run_steps_spend_day" ON (date_bin('1 day', "called_at", timestamptz '2000-01-01 00:00:00+00')) FROM "run_steps";
CREATE STATISTICS "run_step_turns_spend_day" ON (date_bin('1 day', "called_at", timestamptz '2000-01-01 00:00:00+00')) FROM "run_step_turns";
ANALYZE "run_steps";
ANALYZE "run_step_turns";
