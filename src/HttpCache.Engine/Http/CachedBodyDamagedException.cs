namespace HttpCache.Engine.Http;

/// <summary>
/// Reading a cached body found it damaged (another length, other bytes, a read that failed), after some of it was
/// already handed out: the entry has been removed by then, so the next request fetches it from the origin. A caller
/// that wrote the bytes somewhere (a file) should discard them.
/// </summary>
public sealed class CachedBodyDamagedException : IOException
{
    /// <summary>Creates the exception.</summary>
    public CachedBodyDamagedException(string message, string? uri = null, string? key = null)
        : base(message)
    {
        Uri = uri;
        Key = key;
    }

    /// <summary>The URL the damaged entry was stored for (redacted as stored).</summary>
    public string? Uri { get; }

    /// <summary>The removed entry's key.</summary>
    public string? Key { get; }
}
