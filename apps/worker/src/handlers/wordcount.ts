import type { Handler } from '@tsr-broker/worker';

/** What the wordcount service answers, as JSON. */
export interface WordCount {
  words: number;
  lines: number;
  characters: number;
  /** The most frequent words (lower case), most frequent first, then alphabetically: at most 5. */
  top: [word: string, count: number][];
}

const WORD = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu;

/** Counts the words, lines and characters of `text` and finds its most frequent words. */
export function countWords(text: string): WordCount {
  const counts = new Map<string, number>();
  for (const [word] of text.matchAll(WORD)) {
    const w = word.toLowerCase();
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const top = [...counts].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).slice(0, 5);
  const words = [...counts.values()].reduce((sum, n) => sum + n, 0);
  return { words, lines: text.split(/\r\n|\r|\n/).length, characters: [...text].length, top };
}

/**
 * The example service: a request is UTF-8 text, the answer its {@link WordCount} as JSON. Text
 * without a word is refused: the handler throws, so the client gets an error answer saying why.
 */
export const wordcount: Handler = (request) => {
  const text = request.toString('utf8');
  if (!/[\p{L}\p{N}]/u.test(text)) throw new Error('no words to count: send some text');
  return JSON.stringify(countWords(text));
};
