using HttpCache.Commands;
using HttpCache.Engine;

namespace HttpCache;

/// <summary>
/// What Get-HttpCacheStats reports: cumulative figures persisted in the store (every session and process
/// that used it), what the store holds, this session's own hits and misses, a Health verdict and the size
/// growth since the previous call.
/// </summary>
public sealed class CacheStats
{
    internal CacheStats(CacheSession session, CacheStatistics statistics, DateTimeOffset sampledAt, string growth, long? growthBytes)
    {
        Session = session;
        SampledAt = sampledAt.LocalDateTime;
        Growth = growth;
        GrowthBytes = growthBytes;
        var total = statistics.Cumulative;
        Hits = total.Hits;
        Misses = total.Misses;
        HitRate = total.HitRate;
        Revalidations = total.Revalidations;
        StaleServed = total.StaleServed;
        Errors = total.Errors;
        CorruptEntries = total.CorruptEntries;
        Stores = total.Stores;
        Bypassed = total.Bypassed;
        Coalesced = total.Coalesced;
        BackgroundRefreshes = total.BackgroundRefreshes;
        Invalidations = total.Invalidations;
        Evictions = total.Evictions;
        OriginalBytesWritten = total.OriginalBytesWritten;
        StoredBytesWritten = total.StoredBytesWritten;
        Entries = statistics.Inventory.Entries;
        StoredBytes = statistics.Inventory.Bytes;
        OldestEntry = statistics.Inventory.Oldest?.LocalDateTime;
        NewestEntry = statistics.Inventory.Newest?.LocalDateTime;
        SessionHits = statistics.Session.Hits;
        SessionMisses = statistics.Session.Misses;
        SessionHitRate = statistics.Session.HitRate;
        var health = CacheHealth.Assess(total.Hits, total.Misses, total.StaleServed);
        Health = health.Verdict;
        HealthReason = health.Reason;
        StaleRate = health.StaleRate;
    }

    /// <summary>The session's name.</summary>
    public string SessionName => Session.Name;

    /// <summary>The store's backend.</summary>
    public string Backend => Session.Backend;

    /// <summary>Where the store keeps its data.</summary>
    public string Location => Session.Location;

    /// <summary>
    /// Why the session caches in memory for this process instead of in its own store, which could not be opened
    /// (the default session only); null when it uses its store. The figures are then the memory store's.
    /// </summary>
    public string? StoreFallback => Session.StoreFallback;

    /// <summary>Answers served from the store (fresh, revalidated or stale), all sessions together.</summary>
    public long Hits { get; }

    /// <summary>Answers the origin gave although the cache looked (or 504 Not Cached), all sessions together.</summary>
    public long Misses { get; }

    /// <summary>Hits over hits plus misses, from 0 to 1.</summary>
    public double HitRate { get; }

    /// <summary>Stored answers the origin confirmed with 304.</summary>
    public long Revalidations { get; }

    /// <summary>Stale answers served.</summary>
    public long StaleServed { get; }

    /// <summary>Store failures the origin answered around.</summary>
    public long Errors { get; }

    /// <summary>Unreadable entries found, removed and answered as misses.</summary>
    public long CorruptEntries { get; }

    /// <summary>Answers written to the store.</summary>
    public long Stores { get; }

    /// <summary>Requests the cache stayed out of (method, no-store, the caller's own validators).</summary>
    public long Bypassed { get; }

    /// <summary>Requests answered by sharing a concurrent identical request's answer (also counted as hits).</summary>
    public long Coalesced { get; }

    /// <summary>Background refreshes started for stale-while-revalidate.</summary>
    public long BackgroundRefreshes { get; }

    /// <summary>Stored answers removed because an unsafe method (POST, PUT, DELETE…) changed their resource.</summary>
    public long Invalidations { get; }

    /// <summary>Entries the store evicted to stay within its limits.</summary>
    public long Evictions { get; }

    /// <summary>Body bytes written to the store as they were received.</summary>
    public long OriginalBytesWritten { get; }

    /// <summary>Body bytes written to the store as stored: fewer than <see cref="OriginalBytesWritten"/> with -Compress.</summary>
    public long StoredBytesWritten { get; }

    /// <summary>Stale answers served over hits plus misses, from 0 to 1.</summary>
    public double StaleRate { get; }

    /// <summary>
    /// Healthy, Investigate or Critical, from the hit rate (above 60% healthy, 30-60% investigate, below 30%
    /// critical) and the stale share (below 5% healthy, 5-15% investigate, above 15% critical), the worse of
    /// the two; Unknown before any request was counted.
    /// </summary>
    public string Health { get; }

    /// <summary>The figures behind <see cref="Health"/>, against their thresholds.</summary>
    public string HealthReason { get; }

    /// <summary>
    /// How the stored bytes changed since this session's previous Get-HttpCacheStats: Stable, Linear, Unbounded
    /// (growing faster at each call), or Unknown on the first call.
    /// </summary>
    public string Growth { get; }

    /// <summary>Stored bytes gained (negative: lost) since this session's previous Get-HttpCacheStats; empty on the first call.</summary>
    public long? GrowthBytes { get; }

    /// <summary>When the figures were read (local time).</summary>
    public DateTime SampledAt { get; }

    /// <summary>Entries in the store.</summary>
    public long Entries { get; }

    /// <summary>Bytes the entries take.</summary>
    public long StoredBytes { get; }

    /// <summary>When the oldest entry was stored (local time).</summary>
    public DateTime? OldestEntry { get; }

    /// <summary>When the newest entry was stored (local time).</summary>
    public DateTime? NewestEntry { get; }

    /// <summary>This session's hits alone.</summary>
    public long SessionHits { get; }

    /// <summary>This session's misses alone.</summary>
    public long SessionMisses { get; }

    /// <summary>This session's hit rate alone, from 0 to 1.</summary>
    public double SessionHitRate { get; }

    /// <summary>The session the figures are for.</summary>
    public CacheSession Session { get; }
}
