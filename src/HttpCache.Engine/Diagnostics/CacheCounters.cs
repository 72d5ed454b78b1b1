namespace HttpCache.Engine.Diagnostics;

/// <summary>What the cache counts.</summary>
public enum CacheCounter
{
    /// <summary>Answered from the store (fresh, revalidated or stale).</summary>
    Hits,
    /// <summary>Answered by the origin although the cache looked (nothing stored, expired, refreshed), or 504 Not Cached.</summary>
    Misses,
    /// <summary>Stored answers confirmed by a 304.</summary>
    Revalidations,
    /// <summary>Stale answers served.</summary>
    StaleServed,
    /// <summary>Store failures the origin answered around.</summary>
    Errors,
    /// <summary>Unreadable entries found, removed and answered as misses.</summary>
    CorruptEntries,
    /// <summary>Answers written to the store.</summary>
    Stores,
    /// <summary>Requests the cache stayed out of (method, no-store, the caller's own validators).</summary>
    Bypassed,
    /// <summary>Requests answered from the store after waiting for a concurrent identical request (also counted as hits).</summary>
    Coalesced,
    /// <summary>Background refreshes started for stale-while-revalidate.</summary>
    BackgroundRefreshes,
    /// <summary>Stored answers removed because an unsafe method changed their resource (RFC 9111 §4.4).</summary>
    Invalidations,
    /// <summary>Body bytes written to the store, as received.</summary>
    OriginalBytesWritten,
    /// <summary>Body bytes written to the store, as stored (after compression).</summary>
    StoredBytesWritten,
}

/// <summary>A snapshot of the counters.</summary>
public sealed record CacheCounterSet(long Hits, long Misses, long Revalidations, long StaleServed, long Errors, long CorruptEntries, long Stores, long Bypassed, long Coalesced, long BackgroundRefreshes, long Invalidations, long Evictions, long OriginalBytesWritten, long StoredBytesWritten)
{
    /// <summary>Hits over hits plus misses, 0 when there were neither.</summary>
    public double HitRate => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);

    internal static CacheCounterSet From(Func<CacheCounter, long> value) => new(
        value(CacheCounter.Hits), value(CacheCounter.Misses), value(CacheCounter.Revalidations), value(CacheCounter.StaleServed),
        value(CacheCounter.Errors), value(CacheCounter.CorruptEntries), value(CacheCounter.Stores), value(CacheCounter.Bypassed),
        value(CacheCounter.Coalesced), value(CacheCounter.BackgroundRefreshes), value(CacheCounter.Invalidations), 0,
        value(CacheCounter.OriginalBytesWritten), value(CacheCounter.StoredBytesWritten));
}

/// <summary>
/// A session's counters: lock-free increments on the request path, with the not-yet-persisted part kept
/// apart so the session can add it to the store's cumulative counters in batches.
/// </summary>
public sealed class CacheCounters
{
    private static readonly CacheCounter[] All = Enum.GetValues<CacheCounter>();
    private readonly long[] totals = new long[All.Length];
    private readonly long[] pending = new long[All.Length];

    /// <summary>The name a counter has in the store.</summary>
    public static string StoreName(CacheCounter counter) => counter switch
    {
        CacheCounter.StaleServed => "stale_served",
        CacheCounter.CorruptEntries => "corrupt_entries",
        CacheCounter.BackgroundRefreshes => "background_refreshes",
        CacheCounter.OriginalBytesWritten => "original_bytes_written",
        CacheCounter.StoredBytesWritten => "stored_bytes_written",
        _ => counter.ToString().ToLowerInvariant(),
    };

    /// <summary>Adds one.</summary>
    public void Increment(CacheCounter counter) => Add(counter, 1);

    /// <summary>Adds <paramref name="amount"/>.</summary>
    public void Add(CacheCounter counter, long amount)
    {
        Interlocked.Add(ref totals[(int)counter], amount);
        Interlocked.Add(ref pending[(int)counter], amount);
    }

    /// <summary>This session's figures.</summary>
    public CacheCounterSet Snapshot() => CacheCounterSet.From(c => Interlocked.Read(ref totals[(int)c]));

    /// <summary>True when something waits to be persisted.</summary>
    public bool HasPending => Array.Exists(pending, p => Interlocked.Read(ref p) != 0);

    /// <summary>Takes the figures not yet persisted, leaving zero behind.</summary>
    public Dictionary<string, long> TakePending()
    {
        var deltas = new Dictionary<string, long>();
        foreach (var counter in All)
        {
            var value = Interlocked.Exchange(ref pending[(int)counter], 0);
            if (value != 0)
            {
                deltas[StoreName(counter)] = value;
            }
        }

        return deltas;
    }

    /// <summary>Puts back figures whose persisting failed, so the next flush carries them.</summary>
    public void ReturnPending(IReadOnlyDictionary<string, long> deltas)
    {
        foreach (var counter in All)
        {
            if (deltas.TryGetValue(StoreName(counter), out var value))
            {
                Interlocked.Add(ref pending[(int)counter], value);
            }
        }
    }

    /// <summary>Reads store counters into a snapshot.</summary>
    public static CacheCounterSet FromStore(IReadOnlyDictionary<string, long> stored) =>
        CacheCounterSet.From(c => stored.TryGetValue(StoreName(c), out var v) ? v : 0)
        with { Evictions = stored.TryGetValue(EvictionsName, out var evicted) ? evicted : 0 };

    /// <summary>The counter stores keep for the entries they evicted to stay within their limits.</summary>
    public const string EvictionsName = "evictions";
}
