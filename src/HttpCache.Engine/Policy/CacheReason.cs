namespace HttpCache.Engine.Policy;

/// <summary>
/// Why the cache did what it did. Every decision names one; <c>-Verbose</c> shows it, responses carry it,
/// tests assert it. <see cref="CacheReasonExtensions.ToId"/> gives the stable kebab-case id.
/// </summary>
public enum CacheReason
{
    /// <summary>No decision was made (the request never reached the cache).</summary>
    None,

    // Lookups answered from the store.
    /// <summary>A stored answer, still fresh.</summary>
    FreshHit,
    /// <summary>A stale answer served because the request's max-stale allowed it (RFC 9111 §5.2.1.2).</summary>
    StaleHitMaxStale,
    /// <summary>A stale answer the origin confirmed with 304 Not Modified (RFC 9111 §4.3.4).</summary>
    Revalidated,
    /// <summary>A stale answer served because the origin failed or answered an error (RFC 5861 §4).</summary>
    StaleIfError,
    /// <summary>A stale answer served at once while a background request refreshes it (RFC 5861 §3).</summary>
    StaleWhileRevalidate,
    /// <summary>-OnlyIfCached with a stale answer whose stale use is allowed.</summary>
    StaleHitOnlyIfCached,
    /// <summary>The answer of a concurrent identical request, shared instead of asking the origin again.</summary>
    Coalesced,

    // Lookups that went to the origin.
    /// <summary>Nothing stored for this request.</summary>
    MissNoEntry,
    /// <summary>Stored but stale, with no validator: fetched anew.</summary>
    MissExpired,
    /// <summary>Stored but stale: a conditional request was sent.</summary>
    StaleRevalidating,
    /// <summary>The request said no-cache (or Pragma: no-cache): validated before use (RFC 9111 §5.2.1.4).</summary>
    RequestNoCache,
    /// <summary>The stored answer is older than the request's max-age allows (RFC 9111 §5.2.1.1).</summary>
    RequestMaxAge,
    /// <summary>The stored answer would not stay fresh for the request's min-fresh (RFC 9111 §5.2.1.3).</summary>
    RequestMinFresh,
    /// <summary>-Refresh: revalidate now.</summary>
    RefreshRequested,
    /// <summary>The session revalidates every use (-AlwaysRevalidate).</summary>
    AlwaysRevalidate,
    /// <summary>-ForceRefresh: fetched anew regardless of what is stored.</summary>
    RefreshForced,
    /// <summary>A revalidation answered with a new representation, which replaced the stored one.</summary>
    ModifiedOnRevalidation,

    // Answers without the origin.
    /// <summary>-OnlyIfCached (or only-if-cached) and nothing stored: 504 (RFC 9111 §5.2.1.7).</summary>
    OnlyIfCachedMiss,
    /// <summary>-OnlyIfCached (or only-if-cached) and the stored answer is stale: 504.</summary>
    OnlyIfCachedStale,

    // Requests the cache stays out of.
    /// <summary>The method is not one the session caches.</summary>
    BypassMethod,
    /// <summary>The request said no-store: neither read nor written (as requests-cache).</summary>
    BypassRequestNoStore,
    /// <summary>The request carries its own validators; the caller is revalidating by itself.</summary>
    BypassConditionalRequest,
    /// <summary>The store failed; the origin answered instead.</summary>
    BypassStoreFailure,
    /// <summary>The request's own lifetime is DoNotCache: neither read nor written (as requests-cache).</summary>
    BypassDoNotCache,

    // Store decisions.
    /// <summary>Stored.</summary>
    Stored,
    /// <summary>Not stored: the status is not one the session stores.</summary>
    NotStorableStatus,
    /// <summary>Not stored: the method is not one the session stores.</summary>
    NotStorableMethod,
    /// <summary>Not stored: the response said no-store (RFC 9111 §5.2.2.5).</summary>
    NotStorableNoStore,
    /// <summary>Not stored: the request said no-store (RFC 9111 §5.2.1.5).</summary>
    NotStorableRequestNoStore,
    /// <summary>Not stored: the expiration that applies is DoNotCache.</summary>
    NotStorableDoNotCache,
    /// <summary>Not stored: Vary: * can never be matched (RFC 9111 §4.1).</summary>
    NotStorableVaryStar,
    /// <summary>Not stored: private answers stay out of a shared store (RFC 9111 §5.2.2.7).</summary>
    NotStorablePrivate,
    /// <summary>Not stored: an answer to an authorized request stays out of a shared store (RFC 9111 §3.5).</summary>
    NotStorableAuthorization,
    /// <summary>Not stored: the store failed.</summary>
    NotStoredStoreFailure,
    /// <summary>Not stored: the session's predicate said no.</summary>
    NotStorablePredicate,
    /// <summary>Not stored: the body is larger than the session's MaxBodySize; it passed through unbuffered.</summary>
    NotStorableTooLarge,
    /// <summary>An unsafe method succeeded: the stored answers for its URL were removed (RFC 9111 §4.4).</summary>
    Invalidated,

    // Added after the groups above so their numeric values stay as they were.
    /// <summary>The request's Range is not one the stored answer satisfies (several ranges, past its end): the origin answers it.</summary>
    BypassRange,
}

/// <summary>Stable ids for reasons.</summary>
public static class CacheReasonExtensions
{
    private static readonly string[] Ids = Enum.GetValues<CacheReason>().Select(Kebab).ToArray();

    /// <summary>The reason's stable id: fresh-hit, miss-no-entry, not-storable-no-store…</summary>
    public static string ToId(this CacheReason reason) => Ids[(int)reason];

    private static string Kebab(CacheReason reason)
    {
        var name = reason.ToString();
        var builder = new System.Text.StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                builder.Append('-');
            }

            builder.Append(char.ToLowerInvariant(name[i]));
        }

        return builder.ToString();
    }
}
