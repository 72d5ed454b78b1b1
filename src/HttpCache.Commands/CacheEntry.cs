using HttpCache.Engine.Storage;

namespace HttpCache;

/// <summary>
/// One stored response, as Get-HttpCacheEntry lists it. It carries the session it came from, so
/// <c>Get-HttpCacheEntry | Remove-HttpCacheEntry</c> needs nothing more.
/// </summary>
public sealed class CacheEntry
{
    internal CacheEntry(CacheRecordInfo record, CacheSession session)
    {
        Record = record;
        Session = session;
        IsExpired = session.Engine.IsExpired(record);
    }

    /// <summary>The entry's key (one Vary variant of a method and URL).</summary>
    public string Key => Record.Key;

    /// <summary>The key every variant of this method and URL shares.</summary>
    public string PrimaryKey => Record.PrimaryKey;

    /// <summary>The request method.</summary>
    public string Method => Record.Method;

    /// <summary>The request URL.</summary>
    public string Uri => Record.Uri;

    /// <summary>The stored response's status code.</summary>
    public int StatusCode => Record.StatusCode;

    /// <summary>When the response was stored (local time).</summary>
    public DateTime CreatedAt => Record.CreatedAt.LocalDateTime;

    /// <summary>When the entry becomes stale (local time); empty when it never does.</summary>
    public DateTime? ExpiresAt => Record.ExpiresAt?.LocalDateTime;

    /// <summary>True when the entry was stale when it was listed.</summary>
    public bool IsExpired { get; }

    /// <summary>Bytes the entry takes in the store.</summary>
    public long Size => Record.Size;

    /// <summary>How many times the entry was served from the cache.</summary>
    public long HitCount => Record.HitCount;

    /// <summary>When the entry was last served from the cache (local time), if ever.</summary>
    public DateTime? LastAccessedAt => Record.LastAccessedAt?.LocalDateTime;

    /// <summary>The session whose store holds the entry.</summary>
    public CacheSession Session { get; }

    internal CacheRecordInfo Record { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Method} {Uri}";
}
