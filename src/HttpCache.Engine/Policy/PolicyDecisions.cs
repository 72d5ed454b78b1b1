namespace HttpCache.Engine.Policy;

/// <summary>What to do with a request, given what is stored.</summary>
public enum LookupAction
{
    /// <summary>Answer with the stored response.</summary>
    Serve,
    /// <summary>Answer with the stale stored response at once and refresh it in the background.</summary>
    ServeAndRefresh,
    /// <summary>Send a conditional request with the stored validators.</summary>
    Revalidate,
    /// <summary>Send the request as it is.</summary>
    Fetch,
    /// <summary>Answer 504 Not Cached without contacting the origin.</summary>
    NotCached,
}

/// <summary>The outcome of a lookup.</summary>
public readonly record struct LookupDecision(LookupAction Action, CacheReason Reason, bool IsExpired, TimeSpan Age);

/// <summary>The outcome of the store checks on an origin answer.</summary>
public readonly record struct StoreDecision(bool Store, CacheReason Reason, DateTimeOffset? ExpiresAt, TimeSpan InitialAge);
