import { type OptionSpec, parsers } from '../config';
import { brokerAddressOptions, commonOptions } from '../options';

/** The options of program-fixture.ts, shared with the specs so they can predict its usage text. */
export const fixtureOptions = {
  ...brokerAddressOptions(9998),
  verbose: {
    flag: 'verbose',
    env: ['FIXTURE_VERBOSE'],
    default: false,
    parse: parsers.boolean,
    describe: 'say more',
  } satisfies OptionSpec<boolean>,
  ...commonOptions,
};
