/** What the store's crash child and its parent test agree on (not a test file). */

/** What the parent passes to the child (argv[2], JSON). */
export interface ChildArgs {
  dir: string;
  mode: 'hold-manager' | 'work';
  seed: number;
}

/** The topic the `work` mode writes. */
export const TOPIC = 'events';
/** Its partitions. */
export const PARTITIONS = 3;
/** The group the `work` mode commits for. */
export const GROUP = 'g';
