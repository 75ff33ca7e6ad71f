/** The LLM emulator's admin API (see packages/llm-emulator). */

export async function setPacing(emulatorUrl: string, pacing: { latencyMs?: number; tokensPerSecond?: number }): Promise<void> {
  const response = await fetch(`${emulatorUrl}/_emulator/script`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ defaults: pacing }),
  });
  if (!response.ok) throw new Error(`the emulator refused its pacing: ${response.status}`);
}

/** Provider requests in flight right now, over both providers. */
export async function requestsInFlight(emulatorUrl: string): Promise<number> {
  const response = await fetch(`${emulatorUrl}/_emulator/in-flight`);
  const counts = (await response.json()) as Record<string, { current: number }>;
  return Object.values(counts).reduce((sum, c) => sum + c.current, 0);
}
