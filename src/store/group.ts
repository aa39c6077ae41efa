/**
 * In-process consumer groups: the members of one group in this process split the partitions of
 * the topics they subscribe to, and the split is recomputed (a rebalance) whenever a member
 * joins or leaves.
 *
 * Assignment is Kafka's, deterministic in member order. Kafka's assignors sort members by member
 * id; seglog gives members ids in join order, so "sorted by id" is "in join order":
 * - `range` (RangeAssignor, Kafka's classic default): per topic, member i of m gets a contiguous
 *   run of ⌊n/m⌋ partitions, the first n mod m members one more;
 * - `roundrobin` (RoundRobinAssignor): all subscribed topic-partitions sorted by topic then
 *   partition are dealt to the members in turn, skipping members not subscribed to that topic.
 *
 * A rebalance has two phases, as Kafka's eager protocol: first every member gives up the
 * partitions it loses (synchronously stops delivering them; with auto-commit it commits its
 * position in them), then — once every commit in flight in the group has settled — every member
 * gets its new set, and a partition new to a member starts at the group's committed offset. So
 * the new owner of a partition resumes exactly where the old one committed. Partitions a member
 * keeps are never interrupted. When nothing is in flight, both phases run synchronously within
 * the join or leave call. A rebalance overtaken by a newer one (another join or leave while it
 * waits) leaves the assignment to the newer one.
 */
import { invalidArgument } from '../errors.js';

/** Kafka's two classic assignors. */
export type AssignmentStrategy = 'range' | 'roundrobin';

/** What the group needs from a member (a group-subscribed consumer). */
export interface GroupMember {
  /** The topic the member subscribes to. */
  readonly topic: string;
  /** Partitions the member currently delivers. */
  assignedPartitions(): number[];
  /**
   * Stop delivering `partitions` now. May return the promise of a commit of the position in
   * them (auto-commit), which the group waits for before handing them to another member.
   */
  revoke(partitions: number[]): Promise<void> | undefined;
  /** The member's complete new assignment (a superset of what it kept). */
  assign(partitions: number[]): void;
}

/**
 * Kafka's RangeAssignor for one topic: member i gets partitions
 * [i·q + min(i, r), …) of length q + (i < r ? 1 : 0), where q = ⌊n/m⌋ and r = n mod m.
 *
 * @param members - number of members subscribed to the topic, in order
 * @param partitions - number of partitions of the topic
 * @returns each member's partitions
 */
export function rangeAssign(members: number, partitions: number): number[][] {
  const out: number[][] = [];
  const per = Math.floor(partitions / members);
  const extra = partitions % members;
  for (let i = 0; i < members; i++) {
    const start = i * per + Math.min(i, extra);
    const length = per + (i < extra ? 1 : 0);
    out.push(Array.from({ length }, (_, j) => start + j));
  }
  return out;
}

/**
 * Kafka's RoundRobinAssignor: topic-partitions sorted by topic and partition, dealt in turn to
 * the members (in order) that subscribe to the partition's topic.
 *
 * @param memberTopics - the topic each member subscribes to, in member order
 * @param partitionCounts - partitions per topic
 * @returns each member's partitions
 */
export function roundRobinAssign(memberTopics: readonly string[], partitionCounts: ReadonlyMap<string, number>): number[][] {
  const out: number[][] = memberTopics.map(() => []);
  if (memberTopics.length === 0) return out;
  let cursor = 0;
  for (const topic of [...partitionCounts.keys()].sort()) {
    if (!memberTopics.includes(topic)) continue;
    for (let p = 0; p < partitionCounts.get(topic)!; p++) {
      // The circular iterator of Kafka's assignor: next member subscribed to this topic.
      while (memberTopics[cursor % memberTopics.length] !== topic) cursor++;
      out[cursor % memberTopics.length].push(p);
      cursor++;
    }
  }
  return out;
}

/** One consumer group of this process. */
export class ConsumerGroup {
  /** The group id. */
  readonly id: string;
  /** The assignor every member uses (the first member's choice). */
  readonly strategy: AssignmentStrategy;
  private readonly partitionCount: (topic: string) => number;
  private readonly members: GroupMember[] = [];
  /** Commits of the group's members still in flight: a rebalance waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private generationId = 0;

  /**
   * @param id - the group id
   * @param strategy - the assignor
   * @param partitionCount - the current partition count of a topic
   */
  constructor(id: string, strategy: AssignmentStrategy, partitionCount: (topic: string) => number) {
    this.id = id;
    this.strategy = strategy;
    this.partitionCount = partitionCount;
  }

  /** Bumped by every join and leave (Kafka's generation id). */
  get generation(): number {
    return this.generationId;
  }

  /** Number of members. */
  get size(): number {
    return this.members.length;
  }

  /**
   * Adds a member and rebalances. Resolves when the new assignment is in place (at once when no
   * commit is in flight).
   *
   * @throws SeglogError INVALID_ARGUMENT when the member asks for another assignor than the
   *   group's (Kafka's INCONSISTENT_GROUP_PROTOCOL)
   */
  join(member: GroupMember, strategy: AssignmentStrategy): Promise<void> {
    if (strategy !== this.strategy) {
      throw invalidArgument(`group ${this.id} uses the ${this.strategy} assignment; a member cannot join with ${strategy}`);
    }
    this.members.push(member);
    return this.rebalance();
  }

  /** Removes a member (its partitions go to the others) and rebalances. */
  leave(member: GroupMember): Promise<void> {
    const i = this.members.indexOf(member);
    if (i < 0) return Promise.resolve();
    this.members.splice(i, 1);
    return this.rebalance();
  }

  /** Tracks a commit of a member: rebalances wait for it before moving partitions. */
  track<T>(commit: Promise<T>): Promise<T> {
    this.inFlight.add(commit);
    const done = () => this.inFlight.delete(commit);
    commit.then(done, done);
    return commit;
  }

  /** The assignment the current members should have, in member order. */
  private target(): number[][] {
    const topics = [...new Set(this.members.map((m) => m.topic))];
    const counts = new Map(topics.map((t) => [t, this.partitionCount(t)]));
    if (this.strategy === 'roundrobin') return roundRobinAssign(this.members.map((m) => m.topic), counts);
    const out: number[][] = this.members.map(() => []);
    for (const topic of topics) {
      const idx = this.members.flatMap((m, i) => (m.topic === topic ? [i] : []));
      rangeAssign(idx.length, counts.get(topic)!).forEach((parts, j) => (out[idx[j]] = parts));
    }
    return out;
  }

  private rebalance(): Promise<void> {
    const generation = ++this.generationId;
    const members = this.members.slice();
    const target = this.target();
    members.forEach((m, i) => {
      const keep = new Set(target[i]);
      const lost = m.assignedPartitions().filter((p) => !keep.has(p));
      if (lost.length === 0) return;
      const commit = m.revoke(lost);
      if (commit !== undefined) this.track(commit);
    });
    const apply = () => {
      if (generation !== this.generationId) return;
      members.forEach((m, i) => m.assign(target[i]));
    };
    if (this.inFlight.size === 0) {
      apply();
      return Promise.resolve();
    }
    return Promise.allSettled([...this.inFlight]).then(apply);
  }
}
