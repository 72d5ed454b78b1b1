using System.Collections.Concurrent;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Diagnostics;

/// <summary>
/// Hits per entry since the last flush. A hit must not cost a store write, so accesses gather here and
/// reach the store in batches with the counters.
/// </summary>
internal sealed class AccessLog
{
    private ConcurrentDictionary<string, Access> pending = new(StringComparer.Ordinal);

    public bool IsEmpty => pending.IsEmpty;

    public void Record(string key, DateTimeOffset at) =>
        pending.AddOrUpdate(key, static (_, at) => new Access(1, at), static (_, old, at) => new Access(old.Hits + 1, at > old.Last ? at : old.Last), at);

    public List<EntryAccess> Take()
    {
        var taken = Interlocked.Exchange(ref pending, new ConcurrentDictionary<string, Access>(StringComparer.Ordinal));
        return taken.Select(p => new EntryAccess(p.Key, p.Value.Hits, p.Value.Last)).ToList();
    }

    private readonly record struct Access(long Hits, DateTimeOffset Last);
}
