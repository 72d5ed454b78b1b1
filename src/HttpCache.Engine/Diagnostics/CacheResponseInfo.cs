using HttpCache.Engine.Policy;

namespace HttpCache.Engine.Diagnostics;

/// <summary>Event ids of the cache's diagnostics, stable for filtering.</summary>
public enum CacheEventId
{
    /// <summary>The lookup's decision.</summary>
    Decision = 1,
    /// <summary>A revalidation's outcome.</summary>
    Revalidation = 2,
    /// <summary>The store decision on an origin answer.</summary>
    Store = 3,
    /// <summary>The store failed; the origin answered.</summary>
    StoreFailure = 4,
    /// <summary>An unreadable entry was removed.</summary>
    CorruptEntry = 5,
}

/// <summary>How loud a diagnostic is: verbose explains, warning needs attention.</summary>
public enum CacheDiagnosticLevel
{
    /// <summary>Explains a decision.</summary>
    Verbose,
    /// <summary>Something went wrong that the cache worked around.</summary>
    Warning,
}

/// <summary>One diagnostic message of a request.</summary>
public readonly record struct CacheDiagnostic(CacheEventId EventId, CacheDiagnosticLevel Level, string Message);

/// <summary>
/// How one answer was served, attached to the request (<see cref="HttpRequestMessage.Options"/>) by the
/// caching handler; read it with <see cref="CacheResponseExtensions.GetCacheInfo"/>.
/// </summary>
public sealed class CacheResponseInfo
{
    private readonly List<CacheDiagnostic> diagnostics = [];

    /// <summary>The answer came from the store (fresh, revalidated or stale).</summary>
    public bool FromCache { get; internal set; }

    /// <summary>The stored answer was past its expiration when it was looked up.</summary>
    public bool IsExpired { get; internal set; }

    /// <summary>The origin confirmed the stored answer with a 304.</summary>
    public bool Revalidated { get; internal set; }

    /// <summary>When the stored answer was first stored, if it was.</summary>
    public DateTimeOffset? CreatedAt { get; internal set; }

    /// <summary>When the stored answer becomes stale; null when it never does or was not stored.</summary>
    public DateTimeOffset? ExpiresAt { get; internal set; }

    /// <summary>The entry's key, when the cache looked at the request.</summary>
    public string? CacheKey { get; internal set; }

    /// <summary>How the request was answered.</summary>
    public CacheReason Reason { get; internal set; }

    /// <summary>What happened to the origin's answer, when there was one.</summary>
    public CacheReason? StoreReason { get; internal set; }

    /// <summary>Why a stale answer was served (max-stale …); null when it was not.</summary>
    public string? StaleReason { get; internal set; }

    /// <summary>Explanations not yet put into words, by their place in the list: most answers are never explained to anyone.</summary>
    private List<(int Index, Func<string> Words)>? unworded;

    /// <summary>The diagnostics, in order.</summary>
    public IReadOnlyList<CacheDiagnostic> Diagnostics
    {
        get
        {
            if (unworded is { } pending)
            {
                unworded = null;
                foreach (var (index, words) in pending)
                {
                    diagnostics[index] = diagnostics[index] with { Message = words() };
                }
            }

            return diagnostics;
        }
    }

    /// <summary>True when a diagnostic is a warning: a caller that shows no explanations still shows these.</summary>
    public bool HasWarnings { get; private set; }

    internal void Add(CacheEventId id, CacheDiagnosticLevel level, string message)
    {
        HasWarnings |= level == CacheDiagnosticLevel.Warning;
        diagnostics.Add(new(id, level, message));
    }

    /// <summary>A verbose explanation, put into words when <see cref="Diagnostics"/> is first read.</summary>
    internal void Explain(CacheEventId id, Func<string> words)
    {
        (unworded ??= []).Add((diagnostics.Count, words));
        diagnostics.Add(new(id, CacheDiagnosticLevel.Verbose, string.Empty));
    }
}

/// <summary>Reads the cache's description of an answer.</summary>
public static class CacheResponseExtensions
{
    internal static readonly HttpRequestOptionsKey<CacheResponseInfo> InfoKey = new("HttpCache.ResponseInfo");

    /// <summary>How this answer was served; null when it did not pass through a caching handler.</summary>
    public static CacheResponseInfo? GetCacheInfo(this HttpResponseMessage response) =>
        response.RequestMessage is { } request && request.Options.TryGetValue(InfoKey, out var info) ? info : null;
}
