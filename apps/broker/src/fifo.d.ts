/**
 * A growable ring buffer: O(1) push, shift and pushFront without the O(n) `Array.shift`.
 * The broker's pending queue lives here.
 */
export declare class Fifo<T> {
    private items;
    private head;
    private count;
    get length(): number;
    push(item: T): void;
    pushFront(item: T): void;
    shift(): T | undefined;
    /** Puts an item `index` places from the front (0: ahead of all); O(index), meant for small ones. */
    insertAt(index: number, item: T): void;
    /** The item `shift` would return, left in place. */
    peek(): T | undefined;
    /** The item `index` places from the front (0 is the front); undefined out of range. */
    at(index: number): T | undefined;
    /** Capacity stays a power of two so the index wraps with a mask. */
    private grow;
}
