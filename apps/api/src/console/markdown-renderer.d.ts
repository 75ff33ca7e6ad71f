import type { MarkedExtension } from 'marked';

export function escapeHtml(text: string): string;
export const markdownOptions: { gfm: boolean; breaks: boolean; async: false };
export const markdownExtension: MarkedExtension;
