-- CreateEnum
CREATE TYPE "StepType" AS ENUM ('agent', 'approval');

-- AlterEnum
ALTER TYPE "RunStatus" ADD VALUE 'waiting';

-- AlterEnum
ALTER TYPE "StepStatus" ADD VALUE 'waiting';

-- AlterTable
ALTER TABLE "pipeline_steps" ADD COLUMN     "approval" JSONB,
ADD COLUMN     "type" "StepType" NOT NULL DEFAULT 'agent',
ALTER COLUMN "agent_id" DROP NOT NULL;

-- AlterTable
ALTER TABLE "runs" ADD COLUMN     "branched_from_step" INTEGER,
ADD COLUMN     "parent_run_id" TEXT,
ADD COLUMN     "step_overrides" JSONB,
ADD COLUMN     "waited_ms" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "waiting_since" TIMESTAMPTZ(3),
ADD COLUMN     "waiting_until" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "run_steps" ADD COLUMN     "decision" JSONB,
ADD COLUMN     "reused" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "type" "StepType" NOT NULL DEFAULT 'agent',
ALTER COLUMN "agent_id" DROP NOT NULL;

-- CreateIndex
CREATE INDEX "runs_parent_run_id_idx" ON "runs"("parent_run_id");
