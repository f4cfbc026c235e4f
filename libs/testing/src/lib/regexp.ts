/** `text` as a literal inside a RegExp (identities like `W host-1-abc` carry `.` and `-`). */
export const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
