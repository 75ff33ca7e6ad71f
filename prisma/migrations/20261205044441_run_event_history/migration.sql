-- CreateTable
CREATE TABLE "run_event_histories" (
    "run_id" TEXT NOT NULL,
    "events" JSONB NOT NULL,

    CONSTRAINT "run_event_histories_pkey" PRIMARY KEY ("run_id")
);

-- AddForeignKey
ALTER TABLE "run_event_histories" ADD CONSTRAINT "run_event_histories_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
