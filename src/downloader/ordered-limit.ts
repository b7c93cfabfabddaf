// The request slots the tracks of one download share, handed out in media-time
// order rather than in the order the tracks asked: the first seconds of the
// separate audio go out beside the first seconds of the video, not after the
// last video segment. A merge that follows the download needs both tracks'
// beginnings to start, and a paused or failed download leaves both tracks
// equally far along.

/** Runs `fn` once a slot is free; `order` (seconds of media time) ranks it among the waiting, ties first come first. */
export type OrderedLimit = <T>(fn: () => T | PromiseLike<T>, order?: number) => Promise<T>;

interface Waiting {
  order: number;
  seq: number;
  start: () => void;
}

/** At most `size` calls run at once; the next to start is the waiting one of the lowest order. */
export function orderedLimit(size: number): OrderedLimit {
  const slots = Math.max(1, Math.floor(size));
  let active = 0;
  let seq = 0;
  const queue: Waiting[] = [];
  const next = () => {
    while (active < slots) {
      const item = queue.shift();
      if (!item) return;
      item.start();
    }
  };
  return <T>(fn: () => T | PromiseLike<T>, order = Number.POSITIVE_INFINITY) =>
    new Promise<T>((resolve, reject) => {
      const item: Waiting = {
        order,
        seq: seq++,
        start: () => {
          active++;
          Promise.resolve()
            .then(fn)
            .then(resolve, reject)
            .finally(() => {
              active--;
              next();
            });
        },
      };
      // Binary search for the first waiting one that ranks after this.
      let lo = 0;
      let hi = queue.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const other = queue[mid] as Waiting;
        if (other.order < order || (other.order === order && other.seq < item.seq)) lo = mid + 1;
        else hi = mid;
      }
      queue.splice(lo, 0, item);
      next();
    });
}
