/**
 * A worker thread of ch5/hssub.ts (Guide chapter 5, "High-Speed Subscribers
 * (Black Box Pattern)"). Run by `zthread.fork`: pulls messages from the
 * subscriber thread over inproc and does a little work with each (parses
 * its topic and sequence number, counts per topic). On `COUNT` from the
 * pipe it takes what is waiting in its queue and answers with its count,
 * the topics it saw and the last sequence number; it ends when the main
 * thread stops it.
 */
import { ZSocket } from "@zkit/core";
import { ZPoller } from "@zkit/zloop";
import { signal, type AttachedFn } from "@zkit/zthread";

/** What ch5/hssub.ts passes to each worker thread. */
export interface WorkerArgs {
  /** The subscriber's inproc PUSH endpoint. */
  endpoint: string;
}

const worker: AttachedFn<WorkerArgs> = async (pipe, { endpoint }) => {
  const pull = await ZSocket.pull(`>${endpoint}`);
  await signal(pipe, 0); // connected
  const perTopic = new Map<string, number>();
  let count = 0;
  let lastSeq = -1;
  const work = (msg: Buffer): void => {
    // the "work": parse the topic and the sequence number, count per topic
    const space = msg.indexOf(0x20);
    const topic = msg.toString("latin1", 0, space);
    lastSeq = Number.parseInt(msg.toString("latin1", space + 1, space + 12), 10);
    perTopic.set(topic, (perTopic.get(topic) ?? 0) + 1);
    count++;
  };
  // Messages first: the poller returns the first readable socket in this order
  const poller = new ZPoller<ZSocket>(pull, pipe);
  for (;;) {
    const sock = await poller.wait();
    if (sock === null) return;
    const [frame] = await sock.receive();
    if (sock === pull) {
      work(frame!);
      continue;
    }
    // COUNT: take what is waiting, then report (the main thread asks again
    // until the counts add up: a message may still be on its way)
    while (pull.readable) work((await pull.receive())[0]!);
    await pipe.send([String(count), String(perTopic.size), String(lastSeq)]);
  }
};
export default worker;
