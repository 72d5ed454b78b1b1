namespace HttpCache.Engine.Storage;

/// <summary>
/// What a store knows of one stored response: the fields it indexes and filters on, without blobs.
/// The store never interprets HTTP; <see cref="CacheRecord.Metadata"/> is opaque to it.
/// </summary>
public class CacheRecordInfo
{
    /// <summary>The entry's own key (one Vary variant).</summary>
    public required string Key { get; init; }

    /// <summary>The key shared by every variant of one method and URL; removing it removes them all.</summary>
    public required string PrimaryKey { get; init; }

    /// <summary>The request method, upper case.</summary>
    public required string Method { get; init; }

    /// <summary>The request URL with secrets already redacted.</summary>
    public required string Uri { get; init; }

    /// <summary>The stored response's status code.</summary>
    public int StatusCode { get; init; }

    /// <summary>When the response was received and stored.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Fresh until: after it, the entry needs revalidation. Null: never expires.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Kept until: after it, the store may delete the entry. Null: kept until removed.</summary>
    public DateTimeOffset? KeepUntil { get; init; }

    /// <summary>Bytes the entry takes in the store (metadata and body).</summary>
    public long Size { get; init; }

    /// <summary>How many times the entry was served from the cache.</summary>
    public long HitCount { get; init; }

    /// <summary>When the entry was last served from the cache, if ever.</summary>
    public DateTimeOffset? LastAccessedAt { get; init; }

    /// <summary>
    /// The body was written through <see cref="IStreamingCacheStore.BeginWriteAsync"/>: records read
    /// from the store carry an empty Body, and the body is read with <see cref="IStreamingCacheStore.OpenBodyAsync"/>.
    /// </summary>
    public bool BodyStreamed { get; init; }
}

/// <summary>A stored response with its blobs.</summary>
public sealed class CacheRecord : CacheRecordInfo
{
    /// <summary>The engine's serialized description of the response (versioned; see EntrySerializer).</summary>
    public required byte[] Metadata { get; init; }

    /// <summary>The response body, exactly as received (content-encoding untouched).</summary>
    public required byte[] Body { get; init; }

    /// <summary>A record of <paramref name="info"/>'s fields with these blobs.</summary>
    internal static CacheRecord From(CacheRecordInfo info, byte[] metadata, byte[] body) => new()
    {
        Key = info.Key,
        PrimaryKey = info.PrimaryKey,
        Method = info.Method,
        Uri = info.Uri,
        StatusCode = info.StatusCode,
        CreatedAt = info.CreatedAt,
        ExpiresAt = info.ExpiresAt,
        KeepUntil = info.KeepUntil,
        Size = info.Size,
        HitCount = info.HitCount,
        LastAccessedAt = info.LastAccessedAt,
        BodyStreamed = info.BodyStreamed,
        Metadata = metadata,
        Body = body,
    };

    /// <summary>The same record with another metadata blob.</summary>
    public CacheRecord WithMetadata(byte[] metadata) => From(this, metadata, Body);
}

/// <summary>Filters for listing and bulk removal. Every filter given must match (AND).</summary>
public sealed record CacheQuery
{
    /// <summary>Everything.</summary>
    public static CacheQuery All { get; } = new();

    /// <summary>Exactly this entry key.</summary>
    public string? Key { get; init; }

    /// <summary>Every variant of this primary key.</summary>
    public string? PrimaryKey { get; init; }

    /// <summary>Only entries whose <see cref="CacheRecordInfo.ExpiresAt"/> is at or before this instant.</summary>
    public DateTimeOffset? ExpiredAsOf { get; init; }

    /// <summary>Only entries created strictly before this instant.</summary>
    public DateTimeOffset? CreatedBefore { get; init; }

    /// <summary>Only entries created strictly after this instant.</summary>
    public DateTimeOffset? CreatedAfter { get; init; }

    /// <summary>Only entries whose <see cref="CacheRecordInfo.KeepUntil"/> is at or before this instant (the store may drop them).</summary>
    public DateTimeOffset? KeepUntilAsOf { get; init; }

    /// <summary>
    /// Only entries whose <see cref="CacheRecordInfo.Uri"/> is this one, ASCII letters compared without case.
    /// Stores that are <see cref="IUriIndexedStore"/> apply it; <see cref="HttpCacheSession"/> applies it for the others.
    /// </summary>
    public string? Uri { get; init; }

    /// <summary>Only entries whose <see cref="CacheRecordInfo.Uri"/> starts with this, as <see cref="Uri"/> compares.</summary>
    public string? UriPrefix { get; init; }

    /// <summary>True when a URI filter is given.</summary>
    internal bool FiltersUri => Uri is not null || UriPrefix is not null;

    /// <summary>True when <paramref name="uri"/> passes the URI filters (the match a store without a URI index leaves to the session).</summary>
    internal bool MatchesUri(string uri) =>
        (Uri is null || (uri.Length == Uri.Length && AsciiEqualIgnoringCase(uri, Uri)))
        && (UriPrefix is null || (uri.Length >= UriPrefix.Length && AsciiEqualIgnoringCase(uri.AsSpan(0, UriPrefix.Length), UriPrefix)));

    // SQLite's NOCASE: only A-Z fold, so every store and the session agree on what matches.
    private static bool AsciiEqualIgnoringCase(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        for (var i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i] && !(char.IsAsciiLetter(a[i]) && (a[i] | 0x20) == (b[i] | 0x20)))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// A store that keeps its entries' URIs indexed, so <see cref="CacheQuery.Uri"/> and <see cref="CacheQuery.UriPrefix"/>
/// are answered from the index rather than by reading every entry. The other stores list everything and the
/// session filters, so a URI filter costs them a full listing.
/// </summary>
public interface IUriIndexedStore : ICacheStore
{
}

/// <summary>
/// Bounds a store keeps to. After a write that crosses one, the store evicts least-recently-used entries
/// (by last access, else creation) until it is back under, and adds them to its persisted
/// <c>evictions</c> counter. An entry larger than <see cref="MaxBytes"/> on its own is not stored.
/// </summary>
public sealed record StoreLimits
{
    /// <summary>No bounds.</summary>
    public static StoreLimits None { get; } = new();

    /// <summary>The most bytes (metadata and bodies) the store holds; null: unbounded.</summary>
    public long? MaxBytes { get; init; }

    /// <summary>The most entries the store holds; null: unbounded.</summary>
    public long? MaxEntries { get; init; }
}

/// <summary>What the store holds, counted by the store itself.</summary>
public sealed record StoreInventory(long Entries, long Bytes, DateTimeOffset? Oldest, DateTimeOffset? Newest);

/// <summary>Accesses to one entry since the last flush, for hit counts and least-recently-used order.</summary>
public readonly record struct EntryAccess(string Key, long Hits, DateTimeOffset LastAccessedAt);
