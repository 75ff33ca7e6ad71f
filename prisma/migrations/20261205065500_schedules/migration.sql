-- AlterTable
ALTER TABLE "runs" ADD COLUMN     "schedule_id" TEXT;

-- CreateTable
CREATE TABLE "schedules" (
    "id" TEXT NOT NULL,
    "pipeline_id" TEXT NOT NULL,
    "cron" TEXT NOT NULL,
    "timezone" TEXT NOT NULL DEFAULT 'UTC',
    "input" JSONB NOT NULL,
    "metadata" JSONB,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "schedules_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "schedules_pipeline_id_created_at_id_idx" ON "schedules"("pipeline_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "schedules_created_at_id_idx" ON "schedules"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "runs_schedule_id_created_at_id_idx" ON "runs"("schedule_id", "created_at" DESC, "id" DESC);

-- AddForeignKey
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_pipeline_id_fkey" FOREIGN KEY ("pipeline_id") REFERENCES "pipelines"("id") ON DELETE CASCADE ON UPDATE CASCADE;
