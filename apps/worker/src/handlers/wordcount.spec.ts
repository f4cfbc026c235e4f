import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { RequestInfo } from '@tsr-broker/worker';
import { countWords, wordcount } from './wordcount';

const info: RequestInfo = {
  service: 'wordcount',
  worker: 'W me',
  headers: {},
  signal: new AbortController().signal,
  context: ROOT_CONTEXT,
};

describe('wordcount', () => {
  it('counts words, lines and characters, and ranks the most frequent words', () => {
    expect(countWords('The cat saw the other cat.\nThe end — fin, l’été!')).toEqual({
      words: 10,
      lines: 2,
      characters: 48,
      top: [
        ['the', 3],
        ['cat', 2],
        ['end', 1],
        ['fin', 1],
        ['l’été', 1],
      ],
    });
  });

  it('answers JSON, and refuses text without words with an error', () => {
    expect(JSON.parse(String(wordcount(Buffer.from('a b a'), info)))).toEqual({
      words: 3,
      lines: 1,
      characters: 5,
      top: [
        ['a', 2],
        ['b', 1],
      ],
    });
    expect(() => wordcount(Buffer.from(' ... \n'), info)).toThrow('no words to count: send some text');
    expect(JSON.parse(String(wordcount(Buffer.from('x'), info))).words).toBe(1);
  });
});
