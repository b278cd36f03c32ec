/**
 * mocha's root-hook plugin for the unit suite (.mocharc.json): the run's scratch TMPDIR (see
 * scratchTmp.ts), entered as soon as mocha requires this file, before any spec file is loaded
 * (some build their fixtures while mocha collects the tests), and removed after the last test.
 * FFN_LENS_KEEP_TMP=1 keeps the machine's TMPDIR, to look at what a test wrote.
 */
import { enterScratchTmp, leaveScratchTmp } from './scratchTmp';

if (process.env.FFN_LENS_KEEP_TMP !== '1') enterScratchTmp('unit');

export const mochaHooks = {
  afterAll(): void {
    leaveScratchTmp();
  },
};
