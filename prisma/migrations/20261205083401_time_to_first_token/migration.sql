-- AlterTable
ALTER TABLE "run_steps" ADD COLUMN     "first_token_ms" INTEGER;

-- AlterTable
ALTER TABLE "run_step_turns" ADD COLUMN     "first_token_ms" INTEGER;
