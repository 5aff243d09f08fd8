// The task of the isolation suite, in a module of its own: isolated runners import their tasks by
// module, and plain JavaScript loads the same way from the sources (tests) and from dist (the bench).
import { defineTask } from '@conveyor/core';

export const noop = defineTask({ name: 'bench.isolated-noop', ignoreResult: true, handler: ([i]) => i });
