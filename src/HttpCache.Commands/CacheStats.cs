using HttpCache.Engine;

namespace HttpCache;

/// <summary>
/// What Get-HttpCacheStats reports: cumulative figures persisted in the store (every session and process
/// that used it), what the store holds, and this session's own hits and misses.
/// </summary>
public sealed class CacheStats
{
    internal CacheStats(CacheSession session, CacheStatistics statistics)
    {
        Session = session;
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
        Entries = statistics.Inventory.Entries;
        StoredBytes = statistics.Inventory.Bytes;
        OldestEntry = statistics.Inventory.Oldest?.LocalDateTime;
        NewestEntry = statistics.Inventory.Newest?.LocalDateTime;
        SessionHits = statistics.Session.Hits;
        SessionMisses = statistics.Session.Misses;
        SessionHitRate = statistics.Session.HitRate;
    }

    /// <summary>The session's name.</summary>
    public string SessionName => Session.Name;

    /// <summary>The store's backend.</summary>
    public string Backend => Session.Backend;

    /// <summary>Where the store keeps its data.</summary>
    public string Location => Session.Location;

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
