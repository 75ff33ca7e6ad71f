-- AlterTable
ALTER TABLE "agents" ADD COLUMN     "cache_system_prompt" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "fallback_models" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "pipelines" ADD COLUMN     "max_cost_usd" DECIMAL(30,12);

-- AlterTable
ALTER TABLE "runs" ADD COLUMN     "max_cost_usd" DECIMAL(30,12);

-- AlterTable
ALTER TABLE "run_steps" ADD COLUMN     "called_at" TIMESTAMPTZ(3),
ADD COLUMN     "failed_attempts" JSONB;
