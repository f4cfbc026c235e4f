/** The example service's text, as the README's examples send it, and the answer it must give. */
export const TO_BE = 'to be or not to be';
export const TO_BE_COUNTED = {
  words: 6,
  lines: 1,
  characters: 18,
  top: [
    ['be', 2],
    ['to', 2],
    ['not', 1],
    ['or', 1],
  ],
};
