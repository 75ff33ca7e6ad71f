-- AlterTable
ALTER TABLE "runs" ADD COLUMN     "snapshot" JSONB;

-- CreateTable
CREATE TABLE "run_outbox" (
    "run_id" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "webhook_url" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "effects_done_at" TIMESTAMPTZ(3),

    CONSTRAINT "run_outbox_pkey" PRIMARY KEY ("run_id","event")
);

-- CreateIndex
CREATE INDEX "run_outbox_created_at_idx" ON "run_outbox"("created_at");

-- AddForeignKey
ALTER TABLE "run_outbox" ADD CONSTRAINT "run_outbox_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
