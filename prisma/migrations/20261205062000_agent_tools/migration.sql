-- AlterTable
-- The built-in tool names are kept: text[] becomes a JSON array of the same strings.
ALTER TABLE "agents" ADD COLUMN     "max_turns" INTEGER NOT NULL DEFAULT 10,
ADD COLUMN     "output_schema" JSONB,
ALTER COLUMN "tools" DROP DEFAULT,
ALTER COLUMN "tools" SET DATA TYPE JSONB USING to_jsonb("tools"),
ALTER COLUMN "tools" SET DEFAULT '[]';

-- AlterTable
ALTER TABLE "run_steps" ADD COLUMN     "structured" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "run_step_turns" (
    "run_id" TEXT NOT NULL,
    "step_index" INTEGER NOT NULL,
    "turn" INTEGER NOT NULL,
    "provider" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "message" JSONB NOT NULL,
    "stop_reason" TEXT NOT NULL,
    "input_tokens" INTEGER NOT NULL,
    "output_tokens" INTEGER NOT NULL,
    "cache_read_tokens" INTEGER NOT NULL,
    "cache_write_tokens" INTEGER NOT NULL,
    "cost" DECIMAL(30,12),
    "warnings" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "finished_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "run_step_turns_pkey" PRIMARY KEY ("run_id","step_index","turn")
);

-- CreateTable
CREATE TABLE "run_tool_calls" (
    "run_id" TEXT NOT NULL,
    "step_index" INTEGER NOT NULL,
    "turn" INTEGER NOT NULL,
    "position" INTEGER NOT NULL,
    "tool_call_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "input" JSONB NOT NULL,
    "output" TEXT NOT NULL,
    "output_json" JSONB,
    "is_error" BOOLEAN NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "warnings" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "finished_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "run_tool_calls_pkey" PRIMARY KEY ("run_id","step_index","turn","position")
);

-- AddForeignKey
ALTER TABLE "run_step_turns" ADD CONSTRAINT "run_step_turns_run_id_step_index_fkey" FOREIGN KEY ("run_id", "step_index") REFERENCES "run_steps"("run_id", "index") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_tool_calls" ADD CONSTRAINT "run_tool_calls_run_id_step_index_turn_fkey" FOREIGN KEY ("run_id", "step_index", "turn") REFERENCES "run_step_turns"("run_id", "step_index", "turn") ON DELETE CASCADE ON UPDATE CASCADE;
