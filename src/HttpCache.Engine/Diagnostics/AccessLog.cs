using System.Collections.Concurrent;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Diagnostics;

/// <summary>
/// Hits per entry since the last flush. A hit must not cost a store write, so accesses gather here and
/// reach the store in batches with the counters.
/// </summary>
internal sealed class AccessLog
{
    // Counters are objects, not structs: a dictionary of string to a reference type runs the shared code the runtime
    // ships compiled, where a struct value has AddOrUpdate compiled for it in the process, and a short-lived pwsh
    // runs that first-tier code on every hit.
    private ConcurrentDictionary<string, Counter> pending = new(StringComparer.Ordinal);

    public bool IsEmpty => pending.IsEmpty;

    public void Record(string key, DateTimeOffset at) => pending.GetOrAdd(key, static _ => new Counter()).Add(at.UtcTicks);

    public List<EntryAccess> Take()
    {
        var taken = Interlocked.Exchange(ref pending, new ConcurrentDictionary<string, Counter>(StringComparer.Ordinal));
        return taken.Select(p => new EntryAccess(p.Key, p.Value.Hits, new DateTimeOffset(p.Value.LastTicks, TimeSpan.Zero))).ToList();
    }

    private sealed class Counter
    {
        private long hits;
        private long lastTicks;

        public long Hits => Volatile.Read(ref hits);

        public long LastTicks => Volatile.Read(ref lastTicks);

        public void Add(long ticks)
        {
            Interlocked.Increment(ref hits);
            long seen;
            while (ticks > (seen = Volatile.Read(ref lastTicks)) && Interlocked.CompareExchange(ref lastTicks, ticks, seen) != seen)
            {
            }
        }
    }
}
