-- AlterTable
ALTER TABLE "runs" ADD COLUMN     "trace_context" JSONB;
