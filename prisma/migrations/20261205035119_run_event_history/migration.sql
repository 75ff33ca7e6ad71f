-- AlterTable
ALTER TABLE "runs" ADD COLUMN     "event_history" JSONB;
