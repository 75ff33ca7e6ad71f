import type { ChatRequest, Usage } from '../../providers/types.ts';

/**
 * Characters per token for estimating tokens a provider has not reported yet: the providers'
 * own rule of thumb for English text. Only live figures use it; stored usage is always the
 * provider's.
 */
const charsPerToken = 4;

const charsOf = (content: ChatRequest['messages'][number]['content']) => (typeof content === 'string' ? content.length : JSON.stringify(content).length);

/**
 * The usage of one model call while it streams: what the provider has reported so far
 * (Anthropic sends the input and cache tokens when the answer starts), the rest estimated
 * from the characters sent and streamed. The exact usage is the call's result.
 */
export class StreamingUsage {
  #reported: Usage | undefined;
  #streamedChars = 0;
  /** Measured only if a figure is asked for before the provider reports the input: most calls never need it. */
  #promptChars: number | undefined;

  constructor(private readonly request: Pick<ChatRequest, 'system' | 'messages' | 'tools'>) {}

  #measurePrompt(): number {
    const { system, messages, tools } = this.request;
    return (system?.length ?? 0) + messages.reduce((sum, message) => sum + charsOf(message.content), 0) + (tools ? JSON.stringify(tools).length : 0);
  }

  reported(usage: Usage): void {
    this.#reported = usage;
  }

  streamed(chars: number): void {
    this.#streamedChars += chars;
  }

  /** The call starts over (a retry or a fallback model): nothing of the last attempt counts. */
  restart(): void {
    this.#reported = undefined;
    this.#streamedChars = 0;
  }

  current(): { usage: Usage; estimated: boolean } {
    const streamedTokens = Math.ceil(this.#streamedChars / charsPerToken);
    const reported = this.#reported;
    const outputTokens = Math.max(reported?.outputTokens ?? 0, streamedTokens);
    return {
      usage: {
        inputTokens: reported ? reported.inputTokens : Math.ceil((this.#promptChars ??= this.#measurePrompt()) / charsPerToken),
        outputTokens,
        cacheReadTokens: reported?.cacheReadTokens ?? 0,
        cacheWriteTokens: reported?.cacheWriteTokens ?? 0,
      },
      estimated: !reported || outputTokens > reported.outputTokens,
    };
  }
}
