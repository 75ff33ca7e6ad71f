/** Importing this module registers every built-in provider. */
import './anthropic.ts';
import './openai.ts';
