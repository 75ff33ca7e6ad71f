/** The LLM emulator's admin API (see packages/llm-emulator). */

export async function setPacing(emulatorUrl: string, pacing: { latencyMs?: number; tokensPerSecond?: number }): Promise<void> {
  const response = await fetch(`${emulatorUrl}/_emulator/script`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ defaults: pacing }),
  });
  if (!response.ok) throw new Error(`the emulator refused its pacing: ${response.status}`);
}

/** Provider requests in flight right now and chunks streamed since the emulator started, over both providers. */
export async function emulatorLoad(emulatorUrl: string): Promise<{ inFlight: number; streamedChunks: number }> {
  const response = await fetch(`${emulatorUrl}/_emulator/in-flight`);
  const counts = Object.values((await response.json()) as Record<string, { current: number; streamedChunks: number }>);
  return { inFlight: counts.reduce((sum, c) => sum + c.current, 0), streamedChunks: counts.reduce((sum, c) => sum + c.streamedChunks, 0) };
}

/** Provider requests in flight right now, over both providers. */
export async function requestsInFlight(emulatorUrl: string): Promise<number> {
  return (await emulatorLoad(emulatorUrl)).inFlight;
}

/**
 * Scripts the emulator's next `count` answers: streams of "word" at `tokensPerSecond`, each as long as a
 * call of `callSeconds` (from, to) picked at random, as a real model's answers vary.
 */
export async function scriptStreamingAnswers(emulatorUrl: string, count: number, callSeconds: readonly [number, number], tokensPerSecond: number): Promise<void> {
  const [shortest, longest] = callSeconds;
  const responses = Array.from({ length: count }, () => {
    const words = Math.round((shortest + Math.random() * (longest - shortest)) * tokensPerSecond);
    return { reply: 'word '.repeat(words).trim(), tokensPerSecond };
  });
  const scripted = await fetch(`${emulatorUrl}/_emulator/script`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ responses }) });
  if (!scripted.ok) throw new Error(`the emulator refused the script: ${scripted.status}`);
}
