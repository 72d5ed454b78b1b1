using System.Runtime.CompilerServices;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Policy;

/// <summary>A stored response as the engine reads it: the store's record plus what its metadata says.</summary>
public sealed class StoredResponse
{
    private CacheDirectives? cacheControl;

    /// <summary>The store's record (key, clocks, size) without blobs.</summary>
    public required CacheRecordInfo Record { get; init; }

    /// <summary>The status code.</summary>
    public int StatusCode { get; init; }

    /// <summary>The reason phrase, if the origin sent one.</summary>
    public string? ReasonPhrase { get; init; }

    /// <summary>The HTTP version of the original answer.</summary>
    public Version Version { get; init; } = System.Net.HttpVersion.Version11;

    /// <summary>Response and content headers as stored (hop-by-hop and Age removed).</summary>
    public required IReadOnlyList<KeyValuePair<string, string[]>> Headers { get; init; }

    /// <summary>The request header values this variant was stored for, one per name its Vary lists.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> VaryValues { get; init; } = [];

    /// <summary>When the request that produced the answer was sent (RFC 9111 §4.2.3 request_time).</summary>
    public DateTimeOffset RequestTime { get; init; }

    /// <summary>When the answer was received (RFC 9111 §4.2.3 response_time).</summary>
    public DateTimeOffset ResponseTime { get; init; }

    /// <summary>The answer's corrected_initial_age (RFC 9111 §4.2.3).</summary>
    public TimeSpan InitialAge { get; init; }

    /// <summary>The body.</summary>
    public byte[] Body { get; init; } = [];

    /// <summary>How the stored body is compressed ("br", "gzip"); null when it is stored as received.</summary>
    public string? BodyEncoding { get; init; }

    /// <summary>The body's length as received, before any compression for storage.</summary>
    public long OriginalLength { get; init; }

    /// <summary>
    /// The stored body's length and hash, from the entry's metadata; null for an entry an earlier release wrote
    /// without one.
    /// </summary>
    public BodyChecksum? Checksum { get; init; }

    /// <summary>The same answer with another body representation (compressed for storage, or restored).</summary>
    public StoredResponse WithBody(byte[] body, string? encoding, long originalLength) => new()
    {
        Record = Record,
        StatusCode = StatusCode,
        ReasonPhrase = ReasonPhrase,
        Version = Version,
        Headers = Headers,
        VaryValues = VaryValues,
        RequestTime = RequestTime,
        ResponseTime = ResponseTime,
        InitialAge = InitialAge,
        Body = body,
        BodyEncoding = encoding,
        OriginalLength = originalLength,
        Checksum = Checksum,
    };

    /// <summary>The first value of a header, or null.</summary>
    public string? GetHeader(string name)
    {
        foreach (var header in Headers)
        {
            if (string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase) && header.Value.Length > 0)
            {
                return header.Value[0];
            }
        }

        return null;
    }

    /// <summary>All values of a header joined with ", ", or null.</summary>
    public string? GetJoinedHeader(string name)
    {
        string? single = null;
        List<string>? values = null;
        foreach (var header in Headers)
        {
            if (!string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (single is null && values is null && header.Value is [var only])
            {
                single = only;
                continue;
            }

            values ??= single is null ? [] : [single];
            values.AddRange(header.Value);
        }

        return values is not null ? string.Join(", ", values) : single;
    }

    /// <summary>The stored Cache-Control directives, parsed once.</summary>
    public CacheDirectives CacheControl => cacheControl ??= CacheDirectives.Remembered(GetJoinedHeader("Cache-Control"));

    /// <summary>
    /// The directives that govern this answer in a session: the targeted field (RFC 9213) when the session
    /// is shared and the answer carries a valid one, else Cache-Control.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public CacheDirectives Directives(CacheSettings settings)
    {
        if (settings.Shared && settings.TargetedCacheControl is { Length: > 0 } name
            && Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).SelectMany(h => h.Value).ToList() is { Count: > 0 } lines
            && TargetedCacheControl.Parse(lines) is { } targeted)
        {
            return targeted;
        }

        return CacheControl;
    }

    /// <summary>The stored entity tag, if any.</summary>
    public string? ETag => GetHeader("ETag");

    /// <summary>The stored Last-Modified, if any.</summary>
    public string? LastModified => GetHeader("Last-Modified");

    /// <summary>True when a conditional request can revalidate this answer.</summary>
    public bool HasValidator => ETag is not null || LastModified is not null;
}
