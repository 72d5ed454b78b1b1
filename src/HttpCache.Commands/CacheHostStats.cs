using HttpCache.Engine.Storage;

namespace HttpCache;

/// <summary>
/// One row of <c>Get-HttpCacheStats -GroupBy Host</c>: what the store holds for one host (and port). The
/// cache's counters are kept per store, not per host, so these figures come from the entries themselves:
/// their number, their bytes, and the hits they recorded (<see cref="CacheEntry.HitCount"/>). SQLite keeps them per
/// host as it writes; the other stores list every entry to compute them.
/// </summary>
public sealed class CacheHostStats
{
    internal CacheHostStats(CacheSession session, HostInventory host)
    {
        Session = session;
        Host = host.Host;
        Entries = host.Entries;
        StoredBytes = host.Bytes;
        Hits = host.Hits;
        ExpiredEntries = host.Expired;
        OldestEntry = host.Oldest?.LocalDateTime;
        NewestEntry = host.Newest?.LocalDateTime;
        LastAccessedAt = host.LastAccessed?.LocalDateTime;
    }

    /// <summary>The host, with its port when it is not the scheme's default (api.example.com, 127.0.0.1:8080).</summary>
    public string Host { get; }

    /// <summary>Entries stored for the host (every Vary variant counts).</summary>
    public long Entries { get; }

    /// <summary>Bytes those entries take in the store.</summary>
    public long StoredBytes { get; }

    /// <summary>Times those entries were served from the cache (the sum of their HitCount).</summary>
    public long Hits { get; }

    /// <summary>Those entries that are past their expiration.</summary>
    public long ExpiredEntries { get; }

    /// <summary>When the host's oldest entry was stored (local time).</summary>
    public DateTime? OldestEntry { get; }

    /// <summary>When the host's newest entry was stored (local time).</summary>
    public DateTime? NewestEntry { get; }

    /// <summary>When one of the host's entries was last served from the cache (local time), if ever.</summary>
    public DateTime? LastAccessedAt { get; }

    /// <summary>The session's name.</summary>
    public string SessionName => Session.Name;

    /// <summary>The session whose store holds the entries.</summary>
    public CacheSession Session { get; }

    /// <inheritdoc />
    public override string ToString() => Host;
}
