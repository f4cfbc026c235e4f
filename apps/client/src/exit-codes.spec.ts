import { BrokerError, HandlerError, NoAnswerError, NoServiceError, PlainBrokerError, RefusedError } from '@tsr-broker/client';
import { exitCodeOf } from './exit-codes';

describe('exitCodeOf', () => {
  it.each([
    [new NoServiceError('no-service', 'upper'), 3],
    [new HandlerError('handler', 'boom'), 4],
    [new PlainBrokerError('answered outside the envelope'), 2],
    [new NoAnswerError('no answer'), 1],
    [new RefusedError('overloaded', ''), 1],
    [new BrokerError('new-reason', 'x'), 1],
    [new Error('anything else'), 1],
  ])('%s exits %d', (error, code) => expect(exitCodeOf(error)).toBe(code));
});
