using HttpCache.Engine;
using HttpCache.Engine.Diagnostics;

namespace HttpCache;

/// <summary>
/// What Get-HttpCacheStats reports: this session's own counts (Hits, Misses…), the cumulative figures persisted
/// in the store by every session and process that used it (StoreHits, StoreMisses…), what the store holds, a
/// Health verdict on this session's requests and the store's size growth.
/// </summary>
public sealed class CacheStats
{
    internal CacheStats(CacheSession session, CacheStatistics statistics, DateTimeOffset sampledAt, string growth, long? growthBytes)
    {
        Session = session;
        SampledAt = sampledAt.LocalDateTime;
        Growth = growth;
        GrowthBytes = growthBytes;
        var own = statistics.Session;
        Hits = own.Hits;
        Misses = own.Misses;
        HitRate = own.HitRate;
        Revalidations = own.Revalidations;
        StaleServed = own.StaleServed;
        Errors = own.Errors;
        CorruptEntries = own.CorruptEntries;
        Stores = own.Stores;
        Bypassed = own.Bypassed;
        Coalesced = own.Coalesced;
        BackgroundRefreshes = own.BackgroundRefreshes;
        Invalidations = own.Invalidations;
        OriginalBytesWritten = own.OriginalBytesWritten;
        StoredBytesWritten = own.StoredBytesWritten;
        var store = statistics.Cumulative;
        StoreHits = store.Hits;
        StoreMisses = store.Misses;
        StoreHitRate = store.HitRate;
        StoreRevalidations = store.Revalidations;
        StoreStaleServed = store.StaleServed;
        StoreErrors = store.Errors;
        StoreCorruptEntries = store.CorruptEntries;
        StoreWrites = store.Stores;
        StoreBypassed = store.Bypassed;
        StoreCoalesced = store.Coalesced;
        StoreBackgroundRefreshes = store.BackgroundRefreshes;
        StoreInvalidations = store.Invalidations;
        Evictions = store.Evictions;
        StoreOriginalBytesWritten = store.OriginalBytesWritten;
        StoreStoredBytesWritten = store.StoredBytesWritten;
        Entries = statistics.Inventory.Entries;
        StoredBytes = statistics.Inventory.Bytes;
        OldestEntry = statistics.Inventory.Oldest?.LocalDateTime;
        NewestEntry = statistics.Inventory.Newest?.LocalDateTime;
        var health = CacheHealth.Assess(own.Hits, own.Misses, own.StaleServed);
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

    /// <summary>This session's answers served from the store (fresh, revalidated or stale).</summary>
    public long Hits { get; }

    /// <summary>This session's answers the origin gave although the cache looked (or 504 Not Cached).</summary>
    public long Misses { get; }

    /// <summary>This session's hits over hits plus misses, from 0 to 1.</summary>
    public double HitRate { get; }

    /// <summary>This session's stored answers the origin confirmed with 304.</summary>
    public long Revalidations { get; }

    /// <summary>This session's stale answers served.</summary>
    public long StaleServed { get; }

    /// <summary>This session's store failures the origin answered around.</summary>
    public long Errors { get; }

    /// <summary>Unreadable entries this session found, removed and answered as misses.</summary>
    public long CorruptEntries { get; }

    /// <summary>Answers this session wrote to the store.</summary>
    public long Stores { get; }

    /// <summary>This session's requests the cache stayed out of (method, no-store, the caller's own validators).</summary>
    public long Bypassed { get; }

    /// <summary>This session's requests answered by sharing a concurrent identical request's answer (also counted as hits).</summary>
    public long Coalesced { get; }

    /// <summary>Background refreshes this session started for stale-while-revalidate.</summary>
    public long BackgroundRefreshes { get; }

    /// <summary>Stored answers this session removed because an unsafe method (POST, PUT, DELETE…) changed their resource.</summary>
    public long Invalidations { get; }

    /// <summary>Entries the store evicted to stay within its limits, all sessions together (the store evicts, not a session).</summary>
    public long Evictions { get; }

    /// <summary>Body bytes this session wrote to the store as they were received.</summary>
    public long OriginalBytesWritten { get; }

    /// <summary>Body bytes written to the store as stored: fewer than <see cref="OriginalBytesWritten"/> with -Compress.</summary>
    public long StoredBytesWritten { get; }

    /// <summary>This session's stale answers served over its hits plus misses, from 0 to 1.</summary>
    public double StaleRate { get; }

    /// <summary>
    /// Healthy, Investigate or Critical, from this session's hit rate (above 60% healthy, 30-60% investigate,
    /// below 30% critical) and stale share (below 5% healthy, 5-15% investigate, above 15% critical), the worse of
    /// the two; "Insufficient data" below 20 requests (hits plus misses).
    /// </summary>
    public string Health { get; }

    /// <summary>The figures behind <see cref="Health"/>, against their thresholds.</summary>
    public string HealthReason { get; }

    /// <summary>
    /// How the store's size grows over this session's last Get-HttpCacheStats calls, judged on bytes per unit of
    /// time: Stable, Linear, Unbounded (growing faster), or Unknown on the first call.
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

    /// <summary>The same as <see cref="Hits"/>: this session's hits (the name scripts used before Hits meant it).</summary>
    public long SessionHits => Hits;

    /// <summary>The same as <see cref="Misses"/>.</summary>
    public long SessionMisses => Misses;

    /// <summary>The same as <see cref="HitRate"/>.</summary>
    public double SessionHitRate => HitRate;

    /// <summary>Hits of every session and process that used the store, as persisted in it.</summary>
    public long StoreHits { get; }

    /// <summary>Misses of every session and process that used the store.</summary>
    public long StoreMisses { get; }

    /// <summary><see cref="StoreHits"/> over hits plus misses, from 0 to 1.</summary>
    public double StoreHitRate { get; }

    /// <summary>304 revalidations, all sessions together.</summary>
    public long StoreRevalidations { get; }

    /// <summary>Stale answers served, all sessions together.</summary>
    public long StoreStaleServed { get; }

    /// <summary>Store failures the origin answered around, all sessions together.</summary>
    public long StoreErrors { get; }

    /// <summary>Unreadable entries found and removed, all sessions together.</summary>
    public long StoreCorruptEntries { get; }

    /// <summary>Answers written to the store, all sessions together (the store-wide <see cref="Stores"/>).</summary>
    public long StoreWrites { get; }

    /// <summary>Requests the cache stayed out of, all sessions together.</summary>
    public long StoreBypassed { get; }

    /// <summary>Coalesced requests, all sessions together.</summary>
    public long StoreCoalesced { get; }

    /// <summary>Background refreshes, all sessions together.</summary>
    public long StoreBackgroundRefreshes { get; }

    /// <summary>Invalidations by unsafe methods, all sessions together.</summary>
    public long StoreInvalidations { get; }

    /// <summary>Body bytes written as received, all sessions together.</summary>
    public long StoreOriginalBytesWritten { get; }

    /// <summary>Body bytes written as stored, all sessions together.</summary>
    public long StoreStoredBytesWritten { get; }

    /// <summary>The session the figures are for.</summary>
    public CacheSession Session { get; }
}
