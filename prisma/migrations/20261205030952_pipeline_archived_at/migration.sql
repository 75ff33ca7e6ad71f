-- AlterTable
ALTER TABLE "pipelines" ADD COLUMN     "archived_at" TIMESTAMPTZ(3);
