/** A console live stream as a test reads it: each `snapshot` event's data, parsed, in order. */
export function snapshotReader(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  return {
    /** The next `snapshot` event's data, or null when the stream ended. */
    async next(): Promise<{ sections: Record<string, string> } | null> {
      for (;;) {
        const end = buffered.indexOf('\n\n');
        if (end >= 0) {
          const event = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const data = /^data: (.*)$/m.exec(event);
          if (/^event: snapshot$/m.test(event) && data) return JSON.parse(data[1]!);
          continue;
        }
        const { value, done } = await reader.read();
        if (done) return null;
        buffered += value;
      }
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}
